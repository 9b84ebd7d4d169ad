"""Random option values for the main commands: success, or one ``error:`` line (+ ``hint:``), exit 1 or 2.

Every command line goes through the real entry point, on a storage root holding one small built movie.
Values are random text, near-misses (names, ids, revisions, paths that mean something) and numbers
out of range; roots include a fresh folder, a regular file, ``memory://`` and an unknown URL scheme.
Commands that would spend time building always carry ``--dry-run``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.badinput.clean_errors import assert_clean_error, assert_clean_outcome, examples, run_cli
from tests.badinput.mutations import INTERESTING_TEXT

MOVIE = "cli"

texts = st.one_of(st.text(max_size=24), st.sampled_from(INTERESTING_TEXT))
numbers = st.one_of(
    st.integers(min_value=-3, max_value=12).map(str), st.sampled_from(["1001", "9" * 40, "1.5", "x"]), texts
)
ids = st.one_of(texts, st.sampled_from([MOVIE, "new-movie", "..", ".", "a/b", "-x", "x" * 65, "ok_id"]))
revisions = st.one_of(
    texts, st.sampled_from(["rev-0001", "rev-0002", "rev-0000", "rev-1", "rev-00001", "rev-9999"])
)
models = st.one_of(
    texts,
    st.builds(
        "{}={}".format,
        st.sampled_from(["Script", "Narration", "Images", "Nope", "Script.ScriptWriter", ""]),
        st.sampled_from(["local/draft-script", "openai/gpt-5-mini", "nope/nope", "local", "/", ""]),
    ),
)
sets = st.one_of(
    texts,
    st.builds(
        "{}={}".format,
        st.sampled_from(
            ["NumOfSegments", "Style", "Language", "Duration", "Nope", "Narration.Emotion", "Input:Style"]
        ),
        numbers,
    ),
)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("cli") / "store"
    made = run_cli(
        "--root", str(root), "query", "Why?", "--movie", MOVIE, "--segments", "1", "--providers", "mock"
    )
    assert made.code == 0, made.stderr
    (root.parent / "a-file").write_text("not a folder")
    yield root


def _options(draw: st.DrawFn, choices: dict[str, st.SearchStrategy[str]]) -> list[str]:
    argv: list[str] = []
    for option in draw(st.lists(st.sampled_from(sorted(choices)), max_size=4)):
        argv += [option, draw(choices[option])]
    return argv


@st.composite
def command_lines(draw: st.DrawFn) -> list[str]:
    which = draw(
        st.sampled_from(
            ["query", "blueprints", "storage:init", "build plan", "build run", "build diff", "build status",
             "manifest:show", "inspect", "edit", "movies clean", "providers list", "events:append"]
        )
    )  # fmt: skip
    if which == "query":
        options = {
            "--segments": numbers, "--duration": numbers, "--style": texts, "--audience": texts,
            "--language": texts, "--voice": texts, "--resolution": texts, "--provider": models,
            "--blueprint": st.one_of(texts, st.sampled_from(["audio-only", "image-audio", "nope.yaml"])),
            "--movie": ids, "--concurrency": numbers, "--providers": texts,
        }  # fmt: skip
        return ["query", draw(texts), *_options(draw, options), "--dry-run"]
    if which == "blueprints":
        sub = draw(st.sampled_from(["expand", "validate", "describe", "list", "nope"]))
        name = draw(st.one_of(texts, st.sampled_from(["image-audio", "audio-only", "video-audio-music"])))
        return [
            "blueprints",
            sub,
            name,
            *_options(draw, {"--set": sets, "--model": models, "--inputs": texts}),
        ]
    if which == "storage:init":
        options = {"--set": sets, "--model": models, "--blueprint": st.one_of(texts, st.just("audio-only"))}
        return ["storage:init", "--movie", draw(ids), *_options(draw, options)]
    if which.startswith("build"):
        options = {"--movie": st.one_of(ids, st.just(MOVIE)), "--force": texts, "--providers": texts}
        if which == "build run":
            options |= {"--up-to-layer": numbers, "--concurrency": numbers, "--executor": texts}
            return ["build", "run", *_options(draw, options), "--dry-run"]
        if which == "build diff":
            options = {"--movie": st.one_of(ids, st.just(MOVIE)), "--from": revisions, "--to": revisions}
        return [*which.split(), *_options(draw, options)]
    if which == "manifest:show":
        return [
            "manifest:show",
            "--movie",
            draw(st.one_of(ids, st.just(MOVIE))),
            "--revision",
            draw(revisions),
        ]
    if which == "inspect":
        options = {"--format": st.one_of(texts, st.sampled_from(["toml", "json"])), "--movie": ids}
        return ["inspect", "--movie", MOVIE, *_options(draw, options), "--out", "-"]
    if which == "edit":
        options = {"--replace": texts, "--concurrency": numbers, "--providers": texts, "--file": texts}
        return [
            "edit",
            "--movie",
            draw(st.one_of(ids, st.just(MOVIE))),
            *_options(draw, options),
            "--dry-run",
        ]
    if which == "movies clean":
        return ["movies", "clean", draw(ids.filter(lambda movie: movie != MOVIE)), "--yes"]
    if which == "providers list":
        return ["providers", "list", *_options(draw, {"--blueprint": texts}), "--json"]
    return ["events:append", "--movie", draw(ids), "--type", draw(texts), "--file", draw(texts)]


@pytest.mark.slow  # 120 random command lines through the CLI: ~40 s on 2 busy cores
@settings(max_examples=examples(120), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(argv=command_lines(), root=st.sampled_from(["store", "fresh", "file", "memory", "scheme"]))
def test_random_command_lines_end_cleanly(store: Path, argv: list[str], root: str) -> None:
    where = {
        "store": str(store),
        "fresh": str(store.parent / "fresh"),
        "file": str(store.parent / "a-file"),
        "memory": "memory://badinput-cli",
        "scheme": "nope://bucket/x",
    }[root]
    assert_clean_outcome(run_cli("--root", where, *argv))
    assert (store / "builds" / MOVIE / "current.json").is_file()  # the fuzzing never destroys the movie


@pytest.mark.parametrize(
    "argv",
    [
        ["query", "x", "--segments", "many"],
        ["query", "x", "--segments", "9" * 5000],
        ["query", "x", "--no-such-flag"],
        ["no-such-command"],
        ["build", "run"],
        ["build", "run", "--movie", MOVIE, "--concurrency", "0"],
        ["build", "run", "--movie", MOVIE, "--up-to-layer", "-1"],
        ["blueprints", "expand"],
        ["edit", "--movie", MOVIE, "--replace"],
    ],
)
def test_click_usage_errors_are_one_error_line_with_a_hint(store: Path, argv: list[str]) -> None:
    result = run_cli("--root", str(store), *argv)
    assert_clean_error(result, codes=(2,))
    assert result.stderr.rstrip().splitlines()[-1].startswith("hint: see 'tutopanda")
    assert "╭" not in result.stderr  # not Click's framed panel
