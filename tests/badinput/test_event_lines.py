"""Garbage in the event logs, and garbage handed to ``events:append``: skipped or refused, never a crash.

The logs of a small built movie get random lines inserted (bytes, JSON of any shape, real events with a
field changed, raw text edits of a real line, a torn last line); then everything that reads them —
the logs themselves, the manifest builder, the movie definition, the planner, the CLI — must either
work (skipping what it cannot read, with a warning) or fail with a clean error. ``events:append`` gets
random event files.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.badinput.clean_errors import assert_clean_outcome, clean_call, examples, run_cli
from tests.badinput.mutations import INTERESTING_TEXT, json_values, mutated, text_edits
from tutopanda.core.engine.build import plan_build
from tutopanda.core.movie.definition import load_movie
from tutopanda.core.store.event_log import artefact_log, input_log
from tutopanda.core.store.manifest_replay import build_manifest_from_logs
from tutopanda.core.store.storage import StorageConfig, StorageContext

FAST = settings(max_examples=examples(40), deadline=None, suppress_health_check=[HealthCheck.too_slow])
MOVIE = "events"


@dataclass(frozen=True)
class Logs:
    root: Path
    original: dict[str, bytes]

    def path(self, name: str) -> Path:
        return self.root / "builds" / MOVIE / "events" / f"{name}.log"

    def lines(self, name: str) -> list[bytes]:
        return self.original[name].splitlines(keepends=True)

    def restore(self) -> None:
        for name, data in self.original.items():
            self.path(name).write_bytes(data)


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Logs]:
    root = tmp_path_factory.mktemp("events") / "store"
    made = run_cli(
        "--root", str(root), "query", "Why?", "--movie", MOVIE, "--segments", "1", "--providers", "mock"
    )
    assert made.code == 0, made.stderr
    events = root / "builds" / MOVIE / "events"
    result = Logs(root, {name: (events / f"{name}.log").read_bytes() for name in ("inputs", "artefacts")})
    yield result
    result.restore()


def _json_line(value: Any) -> bytes:
    return json.dumps(value, allow_nan=True).encode() + b"\n"


@st.composite
def garbage_line(draw: st.DrawFn, real: list[bytes]) -> bytes:
    kind = draw(st.sampled_from(["bytes", "json", "mutated", "edited", "special"]))
    if kind == "bytes":
        return draw(st.binary(max_size=80)).replace(b"\n", b" ") + b"\n"
    if kind == "json":
        return _json_line(draw(json_values))
    line = draw(st.sampled_from(real))
    if kind == "mutated":
        return _json_line(draw(mutated(json.loads(line))))
    if kind == "edited":
        return draw(text_edits(line.decode())).replace("\n", " ").encode() + b"\n"
    event = json.loads(line)
    field = draw(st.sampled_from(sorted(event)))
    token = draw(
        st.sampled_from(["NaN", "Infinity", "-Infinity", "9" * 5000, "1e999", '"' + "x" * 10 + '"', "null"])
    )
    event[field] = "@@token@@"  # the field's value becomes a token JSON parsers treat specially
    return json.dumps(event).replace('"@@token@@"', token).encode() + b"\n"


def _read_everything(root: Path) -> None:
    ctx = StorageContext.open(StorageConfig(root=root))
    clean_call(lambda: input_log(ctx, MOVIE).read_all())
    clean_call(lambda: artefact_log(ctx, MOVIE).read_all())
    clean_call(lambda: artefact_log(ctx, MOVIE).tail(0, limit=5))
    clean_call(lambda: build_manifest_from_logs(ctx, MOVIE, revision="rev-0002", base_revision="rev-0001"))
    clean_call(lambda: load_movie(ctx, MOVIE))
    clean_call(lambda: plan_build(ctx, MOVIE, save=False))


@pytest.mark.slow  # garbage logs read back by every reader: ~9 s on 2 busy cores
@FAST
@given(data=st.data(), name=st.sampled_from(["inputs", "artefacts"]), torn=st.booleans())
def test_garbage_lines_in_a_log_are_skipped_or_refused_cleanly(
    logs: Logs, data: st.DataObject, name: str, torn: bool
) -> None:
    lines = logs.lines(name)
    for _ in range(data.draw(st.integers(min_value=1, max_value=3))):
        position = data.draw(st.integers(min_value=0, max_value=len(lines)))
        lines.insert(position, data.draw(garbage_line(logs.lines(name))))
    if torn:
        lines.append(data.draw(st.binary(min_size=1, max_size=40)).replace(b"\n", b" "))
    logs.path(name).write_bytes(b"".join(lines))
    try:
        _read_everything(logs.root)
    finally:
        logs.restore()


@settings(max_examples=examples(10), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), name=st.sampled_from(["inputs", "artefacts"]))
def test_commands_over_a_garbled_log_end_cleanly(logs: Logs, data: st.DataObject, name: str) -> None:
    lines = logs.lines(name)
    lines.insert(data.draw(st.integers(0, len(lines))), data.draw(garbage_line(logs.lines(name))))
    logs.path(name).write_bytes(b"".join(lines))
    try:
        root = str(logs.root)
        for command in (["build", "plan"], ["build", "status"], ["manifest:show"], ["inspect", "--out", "-"]):
            assert_clean_outcome(run_cli("--root", root, *command, "--movie", MOVIE))
    finally:
        logs.restore()


INPUT_EXAMPLE = [
    {"id": "Input:InquiryPrompt", "payload": "How do volcanoes erupt?"},
    {"id": "Input:NumOfSegments", "payload": 1},
]
ARTEFACT_EXAMPLE = {
    "artefactId": "Artifact:Script.NarrationScript[0]",
    "producedBy": "Producer:Script.ScriptWriter",
    "payload": "Magma rises.",
    "mimeType": "text/plain",
}  # fmt: skip


@FAST
@given(
    data=st.data(),
    kind=st.sampled_from(["input", "artefact", "artifacts", "INPUT", "x", ""]),
)
def test_random_event_files_are_appended_or_refused_cleanly(
    logs: Logs, data: st.DataObject, kind: str
) -> None:
    example: Any = INPUT_EXAMPLE if kind.lower().startswith("input") else ARTEFACT_EXAMPLE
    record = data.draw(
        st.one_of(
            mutated(example),
            json_values,
            st.builds(
                lambda path: {**ARTEFACT_EXAMPLE, "payload": None, "path": path},
                st.sampled_from(INTERESTING_TEXT),
            ),
        )
    )
    text = data.draw(st.one_of(st.just(json.dumps(record)), text_edits(json.dumps(record))))
    file = logs.root.parent / "event.json"
    file.write_text(text, encoding="utf-8")
    try:
        result = run_cli(
            "--root", str(logs.root), "events:append", "--movie", MOVIE, "--type", kind, "--file", str(file)
        )
        assert_clean_outcome(result)
    finally:
        logs.restore()
