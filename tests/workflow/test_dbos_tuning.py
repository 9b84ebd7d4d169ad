"""The durable executor's throughput settings (``bench/scale.py`` measures them; docs/scale-out.md)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tutopanda.workflow.dbos_executor import write_ahead_log


def test_the_sqlite_system_database_is_put_in_write_ahead_log_mode_once(tmp_path: Path) -> None:
    database = tmp_path / "store" / "dbos.sqlite"
    write_ahead_log(database)
    write_ahead_log(database)  # a second process launching finds it so
    with sqlite3.connect(database) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as reader:  # what liveness and probes open
        assert reader.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
