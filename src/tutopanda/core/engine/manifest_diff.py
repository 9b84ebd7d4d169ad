"""What changed between two manifests: inputs and artefacts added, changed and removed.

Used by ``tutopanda build diff`` and ``build run --diff`` (and later the viewer's revision history). A
changed artefact also says whether its inputs changed (a new trace) or only its bytes (a manual edit).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tutopanda.core.store.events import MANUAL
from tutopanda.core.store.manifest import Manifest

__all__ = ["Change", "ManifestDiff", "diff_manifests"]


@dataclass(frozen=True)
class Change:
    """One id that differs: ``before``/``after`` are hashes (None when absent on that side)."""

    id: str
    before: str | None
    after: str | None
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "before": self.before, "after": self.after, "detail": self.detail}


@dataclass(frozen=True)
class ManifestDiff:
    """The changes from revision ``source`` to revision ``target``."""

    source: str
    target: str
    inputs: dict[str, list[Change]] = field(default_factory=dict)
    artefacts: dict[str, list[Change]] = field(default_factory=dict)

    @property
    def is_empty(self) -> bool:
        return not any(self.inputs.values()) and not any(self.artefacts.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "from": self.source,
            "to": self.target,
            "inputs": {kind: [c.to_dict() for c in changes] for kind, changes in self.inputs.items()},
            "artefacts": {kind: [c.to_dict() for c in changes] for kind, changes in self.artefacts.items()},
        }


def _split(before: dict[str, str], after: dict[str, str]) -> dict[str, list[Change]]:
    return {
        "added": [Change(key, None, after[key]) for key in sorted(after.keys() - before.keys())],
        "changed": [
            Change(key, before[key], after[key])
            for key in sorted(after.keys() & before.keys())
            if before[key] != after[key]
        ],
        "removed": [Change(key, before[key], None) for key in sorted(before.keys() - after.keys())],
    }


def diff_manifests(before: Manifest, after: Manifest) -> ManifestDiff:
    """The differences from ``before`` to ``after``."""
    inputs = _split(
        {key: entry.hash for key, entry in before.inputs.items()},
        {key: entry.hash for key, entry in after.inputs.items()},
    )
    inputs["changed"] = [
        Change(c.id, c.before, c.after, f"{before.inputs[c.id].digest} -> {after.inputs[c.id].digest}")
        for c in inputs["changed"]
    ]
    artefacts = _split(
        {key: entry.hash for key, entry in before.artefacts.items()},
        {key: entry.hash for key, entry in after.artefacts.items()},
    )
    artefacts["changed"] = [
        Change(
            c.id,
            c.before,
            c.after,
            "replaced by hand"
            if after.artefacts[c.id].inputs_hash == MANUAL
            else "regenerated (inputs changed)"
            if before.artefacts[c.id].inputs_hash != after.artefacts[c.id].inputs_hash
            else "replaced (same inputs)",
        )
        for c in artefacts["changed"]
    ]
    return ManifestDiff(before.revision, after.revision, inputs, artefacts)
