"""Test support shipped with Tutopanda, for our tests and for provider plugin packages.

* :func:`make_job_context`, :func:`make_artefact_input` — build the objects a handler receives.
* :func:`sample_job_context` — a realistic context for each bundled producer kind.
* :func:`check_payload`, :func:`sniff_mime` — does a payload hold what its MIME type claims?
* :class:`ProviderContractTests` — the provider contract as a test-class base (works under pytest,
  but nothing here imports pytest).
"""

from __future__ import annotations

from tutopanda.testing.job_context import RecordingSecretResolver, make_artefact_input, make_job_context
from tutopanda.testing.payload_checks import KIND_MIME_PREFIXES, check_payload, sniff_mime
from tutopanda.testing.provider_contract import ProviderContractTests
from tutopanda.testing.samples import (
    EXPORT_PRODUCES,
    SAMPLE_CLIP_SECONDS,
    SAMPLE_KINDS,
    sample_clip,
    sample_job_context,
    sample_narration_audio,
)

__all__ = [
    "EXPORT_PRODUCES",
    "KIND_MIME_PREFIXES",
    "SAMPLE_CLIP_SECONDS",
    "SAMPLE_KINDS",
    "ProviderContractTests",
    "RecordingSecretResolver",
    "check_payload",
    "make_artefact_input",
    "make_job_context",
    "sample_clip",
    "sample_job_context",
    "sample_narration_audio",
    "sniff_mime",
]
