"""Generated edit documents (``movie.toml``/JSON from ``inspect``) and prompt files, read back by ``edit``.

One small movie is built once (mock providers); each example mutates its exported document — values of
other types, deleted or renamed keys, extra ``[[segments]]``, raw text edits — and reads it back the way
``edit`` does: parse, collect the edits against the movie, and (when there are edits) record them in a
scratch copy. Only clean errors may come out. Prompt files get garbage too (non-UTF-8, empty, a folder).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import tomlkit
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tests.badinput.clean_errors import assert_clean_outcome, clean_call, examples, run_cli
from tests.badinput.mutations import json_values, mutated, text_edits, toml_values
from tutopanda.core.engine.scratch import scratch_copy
from tutopanda.core.errors import TutopandaError
from tutopanda.core.movie.document import document_data, render_toml, take_snapshot
from tutopanda.core.movie.edit import apply_edits, collect_edits, parse_document, parse_replacements
from tutopanda.core.store.storage import StorageConfig, StorageContext

FAST = settings(max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.too_slow])
MOVIE = "fuzz"


@dataclass(frozen=True)
class Movie:
    root: Path
    data: dict[str, Any]
    toml: str

    def context(self) -> StorageContext:
        return StorageContext.open(StorageConfig(root=self.root))


@pytest.fixture(scope="module")
def movie(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Movie]:
    root = tmp_path_factory.mktemp("edit") / "store"
    made = run_cli(
        "--root", str(root), "query", "Why?", "--movie", MOVIE, "--segments", "2", "--providers", "mock"
    )
    assert made.code == 0, made.stderr
    assert run_cli("--root", str(root), "inspect", "--movie", MOVIE).code == 0
    ctx = StorageContext.open(StorageConfig(root=root))
    snapshot = take_snapshot(ctx, MOVIE)
    yield Movie(root, document_data(snapshot), render_toml(snapshot))


def _read_back(movie: Movie, raw: bytes, source: str, *, apply: bool) -> None:
    """What ``edit`` does with a document, minus the build: parse, collect, record in a scratch copy."""
    ctx = movie.context()
    document = clean_call(lambda: parse_document(raw, source))
    if isinstance(document, TutopandaError):
        assert document.exit_code == 2
        return
    snapshot = take_snapshot(ctx, MOVIE)
    edits = clean_call(lambda: collect_edits(ctx, MOVIE, snapshot, document, source))
    if isinstance(edits, TutopandaError) or edits.is_empty or not apply:
        return
    edits.describe()
    with scratch_copy(ctx, MOVIE) as scratch:
        clean_call(lambda: apply_edits(scratch, take_snapshot(scratch, MOVIE), edits, source=source))


def _toml(document: Any) -> bytes:
    try:
        return tomlkit.dumps(document).encode()
    except Exception:  # a shape tomlkit cannot write
        assume(False)
        raise


@FAST
@given(data=st.data(), apply=st.booleans())
def test_mutated_toml_documents_are_read_back_or_refused_cleanly(
    movie: Movie, data: st.DataObject, apply: bool
) -> None:
    document = data.draw(mutated(movie.data, toml_values))
    _read_back(movie, _toml(document), "movie.toml", apply=apply)


@FAST
@given(data=st.data())
def test_mutated_json_documents_are_read_back_or_refused_cleanly(movie: Movie, data: st.DataObject) -> None:
    document = data.draw(mutated(movie.data))
    _read_back(movie, json.dumps(document).encode(), "edits.json", apply=True)


@FAST
@given(data=st.data())
def test_raw_edits_of_the_toml_text_are_read_back_or_refused_cleanly(
    movie: Movie, data: st.DataObject
) -> None:
    _read_back(movie, data.draw(text_edits(movie.toml)).encode(), "movie.toml", apply=True)


@settings(max_examples=examples(30), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    content=st.one_of(st.binary(max_size=64), st.text(max_size=64).map(str.encode)), which=st.integers(0, 6)
)
def test_garbage_prompt_files_are_read_back_or_refused_cleanly(
    movie: Movie, content: bytes, which: int
) -> None:
    prompts = sorted((movie.root / "builds" / MOVIE / "prompts").rglob("*.txt"))
    target = prompts[which % len(prompts)]
    original = target.read_bytes()
    target.write_bytes(content)
    try:
        ctx = movie.context()
        snapshot = take_snapshot(ctx, MOVIE)
        edits = clean_call(lambda: collect_edits(ctx, MOVIE, snapshot, None, "prompts/"))
        if not isinstance(edits, TutopandaError) and not edits.is_empty:
            with scratch_copy(ctx, MOVIE) as scratch:
                clean_call(
                    lambda: apply_edits(scratch, take_snapshot(scratch, MOVIE), edits, source="prompts/")
                )
    finally:
        target.write_bytes(original)


@pytest.mark.slow  # random --replace options against a movie: ~9 s on 2 busy cores
@FAST
@given(option=st.one_of(st.text(max_size=40), st.sampled_from([
    "=", "x=", "=x", "Images.SegmentImage[0][0]=", "Images.SegmentImage[9][9]=a.png",
    "Script.MovieTitle=/dev/zero", "Script.MovieTitle=/", "Script.MovieTitle=/etc",
    "Images.SegmentImage[0][0]=/etc/hostname",
    "Narration.SegmentAudio[0]=/etc/hostname", "Artifact:Nope.Nope=x", "Script.MovieTitle=~/nope.txt",
])))  # fmt: skip
def test_random_replace_options_are_refused_cleanly(movie: Movie, option: str) -> None:
    snapshot = take_snapshot(movie.context(), MOVIE)
    clean_call(lambda: parse_replacements(snapshot, [option]))


def test_a_prompt_folder_where_a_file_should_be_is_one_clean_error(movie: Movie) -> None:
    target = movie.root / "builds" / MOVIE / "prompts" / "MovieTitle.txt"
    original = target.read_bytes()
    target.unlink()
    target.mkdir()
    try:
        result = run_cli("--root", str(movie.root), "edit", "--movie", MOVIE, "--dry-run")
        assert result.code == 2 and "MovieTitle.txt is not a regular file" in result.stderr
        assert_clean_outcome(result)
    finally:
        shutil.rmtree(target)
        target.write_bytes(original)


@settings(max_examples=examples(15), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), fmt=st.sampled_from(["toml", "json"]))
def test_mutated_documents_through_edit_and_inspect(movie: Movie, data: st.DataObject, fmt: str) -> None:
    document = data.draw(mutated(movie.data, toml_values if fmt == "toml" else json_values))
    path = movie.root.parent / f"doc.{fmt}"
    path.write_bytes(_toml(document) if fmt == "toml" else json.dumps(document).encode())
    root = str(movie.root)
    assert_clean_outcome(run_cli("--root", root, "edit", "--movie", MOVIE, "--file", str(path), "--dry-run"))
    if fmt == "toml":  # inspect refuses to overwrite pending edits, or updates the file in place
        assert_clean_outcome(run_cli("--root", root, "inspect", "--movie", MOVIE, "--out", str(path)))
