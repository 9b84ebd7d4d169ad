"""Full mock builds of ``image-audio`` at 100 and 1,000 segments, and a no-op rebuild of the larger one.

Targets (2-core machine): the 1,000-segment build (about 3,000 jobs) <= 15 s, and linear: <= 12x the
100-segment build. The TypeScript original took 2.2 s and 54.6 s (every job re-read the whole event log).
Issue 18 adds: <= 5 s on a quiet disk, <= 1.5x that while another process writes and fsyncs
(``--disk-writer`` starts one: ``build_image_audio_1000_loaded``), peak memory <= 300 MB, and
``--linear``: a 10,000-job build <= 11x a 1,000-job one. Segments stop at 1,000, so the 10,005-job
build is 1,000 segments of 7 pictures; it is compared with the same movie ten times shorter (100
segments of 7 pictures: 1,005 jobs of the same kinds in the same proportions) and, as this bench first
did, with 250 segments of one picture (also 1,005 jobs, but a quarter of them pictures instead of 70%:
picture jobs cost more than the others, so that ratio also measures the change of mix).

Every build gets its own folder under one root that is removed only when the bench ends: on this
machine's ext4 (no journal), creating a file scans past every inode deleted in the last minutes
(``recently_deleted`` in the kernel's inode allocator), so deleting the 100-segment movie's files just
before the 1,000-segment build used to slow each of its 5,000 blob creations (kernel time 2 s against
up to 8 s in the same build). Runs of this bench less than ~5 minutes apart still see the previous
run's deletions, and so does anything created after other programs deleted many files (``/tmp`` on a
shared machine: 437 us per file there against 23 us in a folder elsewhere, measured one after the
other). ``fs_create_probe`` says which case a run was in; ``TMPDIR=<folder> .venv/bin/python
bench/build_scale.py`` measures elsewhere. (The kernel skips that scan on an ext4 with a journal, the
default: users' disks do not pay it.)

Wall time is at the mercy of a shared machine, so each build also prints its CPU seconds (this process,
all threads) and the number of ``os.fsync`` calls it made — figures that compare across runs when the
wall clock does not. Prints ``name: value unit`` lines.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tutopanda.core.engine.build import run_build
from tutopanda.core.engine.provider_contract import EnvSecretResolver
from tutopanda.core.engine.runner import RunOptions
from tutopanda.core.logger import MemoryLogger
from tutopanda.core.movie.definition import define_movie
from tutopanda.core.store.movie_paths import init_movie
from tutopanda.core.store.storage import StorageConfig, StorageContext
from tutopanda.providers.plugins import default_registry

_FSYNCS = [0]
_real_fsync = os.fsync


def _counting_fsync(fd: Any) -> None:  # an int or an object with fileno(), as os.fsync takes
    _FSYNCS[0] += 1
    _real_fsync(fd)


os.fsync = _counting_fsync  # counted, still done: the figure is the number of durable writes


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _kernel_cpu() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_stime


def measured(action: Callable[[], object]) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds and fsync calls of ``action()``; prints its kernel CPU seconds."""
    fsyncs, cpu, kernel, start = _FSYNCS[0], _cpu(), _kernel_cpu(), time.perf_counter()
    action()
    wall = time.perf_counter() - start
    print(f"    (of which kernel: {_kernel_cpu() - kernel:.2f} s)")
    return wall, _cpu() - cpu, _FSYNCS[0] - fsyncs


def disk_writer(directory: str) -> subprocess.Popen[bytes]:
    """A neighbour loading the disk: 4 MB written and fsynced, over and over, until killed."""
    target = str(Path(directory) / "neighbour.bin")
    script = (
        "import os\n"
        f"path = {target!r}\n"
        "block = os.urandom(4 << 20)\n"
        "while True:\n"
        "    with open(path, 'wb') as f:\n"
        "        f.write(block); f.flush(); os.fsync(f.fileno())\n"
    )
    return subprocess.Popen([sys.executable, "-c", script])


def build_once(root: str, segments: int, pictures: int = 1) -> tuple[float, int, float, int]:
    ctx = StorageContext.open(StorageConfig(root), logger=MemoryLogger())
    init_movie(ctx, "bench")
    values = {"NumOfSegments": segments, "NumOfImagesPerSegment": pictures}
    define_movie(ctx, "bench", blueprint="image-audio", values=values)
    resolver = default_registry().handler_resolver("mock", "local")
    options = RunOptions(mode="mock", concurrency=16)
    reports = []
    full, cpu, fsyncs = measured(
        lambda: reports.append(
            run_build(ctx, "bench", resolver=resolver, options=options, secrets=EnvSecretResolver({}))
        )
    )
    report = reports[0]
    name = f"build_image_audio_{segments}" + (f"x{pictures}" if pictures != 1 else "")
    print(f"{name}_cpu: {cpu:.2f} s")
    print(f"{name}_fsyncs: {fsyncs} calls")
    if report.failed:
        sys.exit(f"bench build failed: {report.failed[0].error}")
    start = time.perf_counter()
    noop = run_build(ctx, "bench", resolver=resolver, options=options, secrets=EnvSecretResolver({}))
    again = time.perf_counter() - start
    return full, len(report.outcomes), again, noop.calls


_ROOTS: list[str] = []


def fresh_root() -> str:
    """A new build folder under the bench's one temporary root (nothing is deleted until the end)."""
    folder = Path(_ROOTS[0]) / f"build-{len(list(Path(_ROOTS[0]).iterdir()))}"
    folder.mkdir()
    return str(folder)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="tutopanda-bench-") as root:
        _ROOTS.append(root)
        measure()


def create_probe() -> float:
    """Microseconds to create, write and close one small file: this machine's file-creation cost now.

    Printed before the builds so a slow figure can be told apart from a slow disk: on a journal-less
    ext4 it rises several-fold for minutes after many deletions (see the module docstring)."""
    folder = Path(fresh_root())
    count = 2000
    start = time.perf_counter()
    for index in range(count):
        descriptor = os.open(folder / f"probe-{index}", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        os.write(descriptor, b"x" * 3000)
        os.close(descriptor)
    return (time.perf_counter() - start) / count * 1e6


def measure() -> None:
    print(f"fs_create_probe: {create_probe():.0f} us per file  (25-40 on this machine when quiet)")
    results = {}
    for segments in (100, 1000):
        full, jobs, noop, calls = build_once(fresh_root(), segments)
        results[segments] = full
        print(f"build_image_audio_{segments}: {full:.2f} s")
        print(f"build_image_audio_{segments}_jobs: {jobs} jobs")
        print(f"build_image_audio_{segments}_throughput: {jobs / full:.0f} jobs/s")
        print(f"noop_rebuild_{segments}: {noop:.2f} s")
        print(f"noop_rebuild_{segments}_calls: {calls} calls")
    print(f"scaling_1000_vs_100: {results[1000] / results[100]:.1f} x")
    print(f"peak_memory: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    if "--disk-writer" in sys.argv:
        root = fresh_root()
        neighbour = disk_writer(root)
        try:
            loaded, _, _, _ = build_once(root, 1000)
        finally:
            neighbour.kill()
            neighbour.wait()
        print(f"build_image_audio_1000_loaded: {loaded:.2f} s  (a neighbour writing and fsyncing)")
        print(f"loaded_vs_quiet_1000: {loaded / results[1000]:.2f} x")
    if "--linear" in sys.argv:
        timed: dict[tuple[int, int], float] = {}
        for segments, pictures in ((100, 7), (250, 1), (1000, 7)):
            wall, jobs, _, _ = build_once(fresh_root(), segments, pictures)
            timed[segments, pictures] = wall
            print(f"build_{segments}x{pictures}_{jobs}_jobs: {wall:.2f} s  ({jobs / wall:.0f} jobs/s)")
        large = timed[1000, 7]
        print(f"linear_10005_vs_1005_jobs_same_shape: {large / timed[100, 7]:.1f} x  (target <= 11 x)")
        print(f"linear_10005_vs_1005_jobs_other_shape: {large / timed[250, 1]:.1f} x  (250 x 1 picture)")
        print(f"peak_memory_after_linear: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
