"""Blob hashing throughput against ``sha256sum`` (target: ours >= 0.8 x sha256sum).

Creates a 512 MiB file in a temp directory (removed afterwards), warms the page cache, then prints
``name: value unit`` lines for:

* ``hash_file`` — :func:`~tutopanda.core.store.blob_store.hash_file` (1 MiB ``readinto`` + hashlib),
  median of 3;
* ``sha256sum`` — the coreutils binary on the same file, median of 3;
* ``hash_ratio`` — our throughput / sha256sum throughput (the target figure);
* ``put_file_new`` — storing the file as a new blob (hash pass + verified copy + fsync + rename);
* ``put_file_dedupe`` — storing it again (one hash pass, no copy).
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from tutopanda.core.store.blob_store import BlobStore, hash_file
from tutopanda.core.store.movie_paths import init_movie
from tutopanda.core.store.storage import StorageConfig, StorageContext

SIZE_MIB = 512
RUNS = 3


def _make_file(path: Path) -> None:
    block = os.urandom(1024 * 1024)
    with path.open("wb") as stream:
        for index in range(SIZE_MIB):
            stream.write(block[index % 256 :] + block[: index % 256])


def _median(action: Callable[[], object]) -> float:
    timings = []
    for _ in range(RUNS):
        start = time.perf_counter()
        action()
        timings.append(time.perf_counter() - start)
    return statistics.median(timings)


def _sha256sum(path: Path) -> str:
    result = subprocess.run(["sha256sum", str(path)], capture_output=True, text=True, check=True)
    return result.stdout.split()[0]


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="tutopanda-bench-"))
    try:
        source = workdir / "big.bin"
        _make_file(source)
        ours_hash, _ = hash_file(source)  # also warms the page cache
        if shutil.which("sha256sum") is None:
            raise SystemExit("sha256sum not found")
        assert _sha256sum(source) == ours_hash

        ours = _median(lambda: hash_file(source))
        theirs = _median(lambda: _sha256sum(source))
        print(f"file_size: {SIZE_MIB} MiB")
        print(f"hash_file: {ours:.3f} s")
        print(f"hash_file_throughput: {SIZE_MIB / ours:.0f} MiB/s")
        print(f"sha256sum: {theirs:.3f} s")
        print(f"sha256sum_throughput: {SIZE_MIB / theirs:.0f} MiB/s")
        print(f"hash_ratio: {theirs / ours:.2f} x")

        ctx = StorageContext.open(StorageConfig(workdir / "store"))
        init_movie(ctx, "bench")
        store = BlobStore(ctx, "bench")
        start = time.perf_counter()
        ref = store.put_file(source, "video/mp4")
        put_new = time.perf_counter() - start
        print(f"put_file_new: {put_new:.3f} s")
        print(f"put_file_new_throughput: {SIZE_MIB / put_new:.0f} MiB/s")
        dedupe = _median(lambda: store.put_file(source, "video/mp4"))
        print(f"put_file_dedupe: {dedupe:.3f} s")
        assert ref.hash == ours_hash
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
