"""Test data builders for the storage tests (imported by ``conftest.py`` and by tests for type hints)."""

from __future__ import annotations

from typing import Any

from tutopanda.core.clock import FixedClock
from tutopanda.core.store.blob_ref import BlobRef
from tutopanda.core.store.events import ArtefactEvent, ArtefactStatus, InputEvent, artefact_event, input_event


class EventFactory:
    """Builds valid events with few arguments, so tests state only what matters to them."""

    def __init__(self, clock: FixedClock) -> None:
        self.clock = clock

    @staticmethod
    def blob(seed: int | str = 0, mime_type: str = "text/plain") -> BlobRef:
        return BlobRef.for_bytes(f"payload {seed}".encode(), mime_type)

    def input(
        self, name: str = "InquiryPrompt", value: Any = "Tell me about pandas", revision: str = "rev-0001"
    ) -> InputEvent:
        return input_event(f"Input:{name}", value, revision=revision, clock=self.clock)

    def artefact(
        self,
        name: str = "Script.Text",
        *,
        status: ArtefactStatus = "succeeded",
        seed: int | str = 0,
        revision: str = "rev-0001",
        inputs_hash: str = "f" * 64,
    ) -> ArtefactEvent:
        return artefact_event(
            f"Artifact:{name}",
            status=status,
            revision=revision,
            inputs_hash=inputs_hash,
            produced_by="Producer:Script.Producer[0]",
            provider="mock",
            clock=self.clock,
            blob=self.blob(seed) if status == "succeeded" else None,
            error="provider said no" if status == "failed" else None,
        )
