"""``query --blueprint NAME`` (and ``[general] blueprint``) finds the user's own blueprints in
``<root>/blueprints/`` by the name ``blueprints list`` shows, or by file name; a name that is also a
bundled blueprint's is refused as ambiguous."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.conftest import CliRunner
from tutopanda.core.blueprint import load_blueprint


def _save_user_blueprint(root: Path, file_name: str, blueprint_id: str) -> Path:
    """A copy of the bundled audio-only blueprint under ``<root>/blueprints/`` with another id."""
    folder = root / "blueprints"
    folder.mkdir(parents=True, exist_ok=True)
    bundled = Path(load_blueprint("audio-only").file).read_text(encoding="utf-8")
    path = folder / file_name
    path.write_text(bundled.replace("id: audio-only", f"id: {blueprint_id}"), encoding="utf-8")
    return path


def _recorded_blueprint(root: Path, movie: str) -> str:
    data = json.loads((root / "builds" / movie / "movie.json").read_text(encoding="utf-8"))
    recorded: str = data["blueprint"]
    return recorded


def test_a_user_blueprint_is_found_by_its_listed_name_and_its_file_name(cli: CliRunner, root: Path) -> None:
    path = _save_user_blueprint(root, "narrated.yaml", "my-narrated")
    listed = json.loads(cli("blueprints", "list", "--json").stdout)
    assert {"name": "my-narrated", "source": "user"}.items() <= next(
        item for item in listed if item["name"] == "my-narrated"
    ).items()
    made = cli(
        "query", "Why is the sea salty?", "--movie", "mine", "--blueprint", "my-narrated", "--segments", "1"
    )
    assert made.code == 0, made.stderr
    assert _recorded_blueprint(root, "mine") == str(path.resolve())  # recorded as if the path was given
    again = cli("query", "--movie", "mine", "--blueprint", "narrated", "--style", "anime", "--dry-run")
    assert again.code == 2 and "--style does not apply to blueprint my-narrated" in again.stderr  # same one
    (root / "settings.toml").write_text('[general]\nblueprint = "my-narrated"\n', encoding="utf-8")
    planned = cli("query", "How do tides work?", "--movie", "tides", "--segments", "1", "--dry-run", "--json")
    assert planned.code == 0, planned.stderr
    jobs = [job["jobId"] for layer in json.loads(planned.stdout)["plan"]["layers"] for job in layer["jobs"]]
    assert not any("Image" in job for job in jobs)  # audio-only's graph, not image-audio's


def test_a_user_blueprint_named_like_a_bundled_one_is_refused_as_ambiguous(
    cli: CliRunner, root: Path
) -> None:
    path = _save_user_blueprint(root, "audio-only.yaml", "audio-only")
    result = cli("query", "Q?", "--movie", "which", "--blueprint", "audio-only", "--segments", "1")
    assert result.code == 2
    assert "'audio-only' is both a bundled blueprint and your" in result.stderr
    assert f"--blueprint {path}" in result.stderr.replace("\n", "")
    assert not (root / "builds" / "which").exists()
    by_path = cli("query", "Q?", "--movie", "which", "--blueprint", str(path), "--segments", "1", "--dry-run")
    assert by_path.code == 0, by_path.stderr
    unknown = cli("query", "Q?", "--movie", "which", "--blueprint", "no-such-one", "--dry-run")
    assert unknown.code == 2 and "unknown blueprint 'no-such-one'" in unknown.stderr
