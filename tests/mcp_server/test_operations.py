"""The MCP server's operations in-process: the CLI's rules (validation before anything is created,
paid builds only when confirmed, the edit's checks) without a client."""

from __future__ import annotations

from pathlib import Path

import pytest

from tutopanda.core.errors import UsageError
from tutopanda.core.store.movie_paths import is_defined
from tutopanda.core.store.storage import StorageConfig, StorageContext
from tutopanda.mcp_server.operations import MovieOperations


@pytest.fixture
def ops(tmp_path: Path) -> MovieOperations:
    return MovieOperations(str(tmp_path / "store"), "mock")


def _defined(ops: MovieOperations, movie: str) -> bool:
    return is_defined(StorageContext.open(StorageConfig(root=ops.root)), movie)


def test_a_paid_build_is_only_planned_until_confirmed(
    ops: MovieOperations, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-used")
    answer = ops.make_movie(
        prompt="How do tides work?",
        movie="tides",
        blueprint="audio-only",
        variants={"Script": "openai/gpt-5-mini"},
        providers="live",
    )
    assert answer["status"] == "needs-confirmation"
    assert answer["plan"]["onlineProviders"] == {"Script": "openai/gpt-5-mini"}
    assert "confirm: true" in answer["message"] and "estimated cost" in answer["message"]
    assert not _defined(ops, "tides")  # nothing was created


def test_a_missing_key_is_an_error_before_anything_is_recorded(
    ops: MovieOperations, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(Exception, match="OPENAI_API_KEY"):
        ops.make_movie(
            prompt="How do tides work?",
            movie="tides",
            variants={"Script": "openai/gpt-5-mini"},
            providers="live",
        )
    assert not _defined(ops, "tides")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"options": {"style": "watercolour"}}, "did you mean 'watercolor'"),
        ({"options": {"style": "anime"}, "blueprint": "audio-only"}, "no Style input"),
        ({"options": {"colour": "red"}}, "unknown option 'colour'"),
        ({"inputs": {"NumOfSegmnts": 2}}, "unknown input 'NumOfSegmnts'"),
    ],
)
def test_bad_values_are_refused_before_anything_is_created(
    ops: MovieOperations, kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(UsageError, match=message):
        ops.make_movie(prompt="How do tides work?", movie="tides", **kwargs)  # type: ignore[arg-type]
    assert not _defined(ops, "tides")


def test_edits_name_segments_from_one_and_unchanged_texts_do_nothing(ops: MovieOperations) -> None:
    made = ops.make_movie(
        prompt="How do tides work?", movie="tides", blueprint="audio-only", options={"segments": 2}
    )
    assert made["status"] == "built"
    script = ops.script("tides")
    assert script.startswith("# ") and script.count("\n## ") == 2
    with pytest.raises(UsageError, match="'ImagePrompt' is not a text of a segment"):
        ops.apply_edit("tides", texts=[{"segment": 1, "key": "ImagePrompt", "text": "a crater"}])
    with pytest.raises(UsageError, match="cannot be empty"):
        ops.apply_edit("tides", narration={"1": "  "})
    current = script.split("\n## ", 2)[1].split("\n", 1)[1].strip()
    assert ops.apply_edit("tides", narration={"1": current})["status"] == "unchanged"
    title = ops.apply_edit("tides", texts=[{"key": "MovieTitle", "text": "Tides, explained"}])
    assert title["status"] == "built" and not any("Narration" in job for job in title["jobsRun"])
    assert ops.script("tides").startswith("# Tides, explained")
    published = {f["name"]: f for f in ops.published_files("tides")}
    assert "Tides explained.mp4" in published  # named after the new title
    assert all(Path(f["path"]).is_file() and f["bytes"] > 0 for f in published.values())
