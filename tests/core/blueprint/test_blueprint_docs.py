"""The complete example in docs/blueprints.md loads and expands, so the documentation cannot rot."""

from __future__ import annotations

import re
from pathlib import Path

from tutopanda.core.blueprint import expand, load_blueprint

DOC = Path(__file__).resolve().parents[3] / "docs" / "blueprints.md"


def test_documented_example_expands(tmp_path: Path) -> None:
    blocks = re.findall(r"```yaml\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.DOTALL)
    example = next(block for block in blocks if block.startswith("meta:"))
    path = tmp_path / "example.yaml"
    path.write_text(example, encoding="utf-8")
    graph = expand(load_blueprint(str(path)), {"NumOfSegments": "2", "NumOfImagesPerSegment": "2"})
    assert len(graph.jobs) == 1 + 2 + 2 + 4 + 2 + 1 + 1  # script, narration, prompts, images, clips, ...
    assert "Input:Narration.Emotion" in graph.inputs
    assert "Input:Topic" not in graph.inputs
