"""Blueprint expansion speed (target: ``expand_image_audio_1000x2`` median <= 1.0 s on the 2-core machine).

Expands the bundled ``image-audio`` blueprint with 1,000 segments x 2 images (~4,000 jobs, a timeline
fan-in of ~3,000 members) several times and prints ``name: value unit`` lines: the median expansion
time, the median time of ``to_dict()`` (what ``tutopanda blueprints expand`` prints), the load time of
the blueprint, and the sizes. Never run as a test.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from tutopanda.core.blueprint import FanIn, JobGraph, expand, load_blueprint

RUNS = 7
VALUES = {"NumOfSegments": "1000", "NumOfImagesPerSegment": "2"}


def _median(action: Callable[[], object]) -> float:
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    load_time = _median(lambda: load_blueprint("image-audio"))
    blueprint = load_blueprint("image-audio")
    expand_time = _median(lambda: expand(blueprint, VALUES))
    graph: JobGraph = expand(blueprint, VALUES)
    to_dict_time = _median(graph.to_dict)
    timeline = graph.job("Producer:Timeline.TimelineComposer")
    members = sum(len(bound.members) for bound in timeline.bindings.values() if isinstance(bound, FanIn))
    print(f"load_image_audio: {load_time:.4f} s")
    print(f"expand_image_audio_1000x2: {expand_time:.3f} s")
    print(f"to_dict_image_audio_1000x2: {to_dict_time:.3f} s")
    print(f"expand_image_audio_1000x2_jobs: {len(graph.jobs)} jobs")
    print(f"expand_image_audio_1000x2_edges: {len(graph.edges)} edges")
    print(f"expand_image_audio_1000x2_timeline_fan_in: {members} members")


if __name__ == "__main__":
    main()
