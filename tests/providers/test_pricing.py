"""Price tables across processes (the registry keys handlers by table, so its hash must be honest)."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys

from tutopanda.providers.pricing import bundled_prices

_CHILD = (
    "import pickle, sys; from tutopanda.providers.pricing import bundled_prices; "
    "t = pickle.loads(sys.stdin.buffer.read()); b = bundled_prices(); print(hash(t) == hash(b), t == b)"
)


def test_a_price_table_sent_to_another_process_hashes_as_that_process_hashes_it() -> None:
    table = bundled_prices()
    hash(table)  # kept from here on
    done = subprocess.run(
        [sys.executable, "-c", _CHILD],
        input=pickle.dumps(table),
        capture_output=True,
        check=True,
        env={**os.environ, "PYTHONHASHSEED": "12345"},
    )
    assert done.stdout.split() == [b"True", b"True"]
