"""Event-log throughput: append then replay 100,000 artefact events (target: replay median <= 1.0 s).

Prints ``name: value unit`` lines:

* ``append_many_100k`` — one batched append of all events (canonical JSON encoding + one write);
* ``append_single_*`` — per-event appends through the public API (lock, O_APPEND write, optional fsync);
* ``replay_100k`` — stream-parse every event (the target figure), median of several runs;
* ``read_all_100k`` — the same, kept in a list;
* ``replay_latest_succeeded_100k`` / ``build_manifest_100k`` — replay plus the fold a manifest build does.

Runs on a temp directory on the local disk, removed afterwards.
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from tutopanda.core.clock import SystemClock
from tutopanda.core.store.blob_ref import BlobRef
from tutopanda.core.store.event_log import artefact_log
from tutopanda.core.store.events import ArtefactEvent, artefact_event
from tutopanda.core.store.manifest_replay import build_manifest, latest_succeeded
from tutopanda.core.store.movie_paths import init_movie
from tutopanda.core.store.storage import StorageConfig, StorageContext

EVENTS = 100_000
SINGLE_APPENDS = 2_000
REPLAYS = 5


def _events(count: int) -> list[ArtefactEvent]:
    clock = SystemClock()
    blob = BlobRef.for_bytes(b"segment audio", "audio/mpeg")
    return [
        artefact_event(
            f"Artifact:AudioProducer.SegmentAudio[{i}]",
            status="succeeded" if i % 10 else "failed",
            revision=f"rev-{1 + i // 10_000:04d}",
            inputs_hash=f"{i:064x}",
            produced_by=f"Producer:AudioProducer.AudioProducer[{i}]",
            provider="mock",
            model="mock-tts",
            clock=clock,
            blob=blob if i % 10 else None,
            diagnostics={"durationMs": 1234 + i},
            error="provider timeout" if i % 10 == 0 else None,
        )
        for i in range(count)
    ]


def _median(action: Callable[[], object], runs: int) -> float:
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        timings.append(time.perf_counter() - start)
    return statistics.median(timings)


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="tutopanda-bench-"))
    try:
        ctx = StorageContext.open(StorageConfig(workdir))
        clock = SystemClock()
        init_movie(ctx, "bench")
        events = _events(EVENTS)
        log = artefact_log(ctx, "bench")

        start = time.perf_counter()
        log.append_many(events)
        batch = time.perf_counter() - start
        print(f"append_many_100k: {batch:.3f} s")
        print(f"append_many_throughput: {EVENTS / batch:,.0f} events/s")
        print(f"log_size: {log.size() / 2**20:.1f} MiB")

        replay = _median(lambda: sum(1 for _ in artefact_log(ctx, "bench")), REPLAYS)
        print(f"replay_100k: {replay:.3f} s")
        print(f"replay_throughput: {EVENTS / replay:,.0f} events/s")
        loaded = _median(lambda: artefact_log(ctx, "bench").read_all(), REPLAYS)
        print(f"read_all_100k: {loaded:.3f} s")
        fold = _median(lambda: latest_succeeded(artefact_log(ctx, "bench")), REPLAYS)
        print(f"replay_latest_succeeded_100k: {fold:.3f} s")

        def build() -> object:
            log = artefact_log(ctx, "bench")
            return build_manifest([], log, revision="rev-0011", base_revision=None, clock=clock)

        built = _median(build, REPLAYS)
        print(f"build_manifest_100k: {built:.3f} s")

        for fsync in (True, False):
            single = artefact_log(ctx, "bench", fsync=fsync)
            start = time.perf_counter()
            for event in events[:SINGLE_APPENDS]:
                single.append(event)
            elapsed = time.perf_counter() - start
            label = "fsync" if fsync else "nofsync"
            print(f"append_single_{label}_throughput: {SINGLE_APPENDS / elapsed:,.0f} events/s")
            print(f"append_single_{label}_latency: {elapsed / SINGLE_APPENDS * 1e6:.0f} us")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
