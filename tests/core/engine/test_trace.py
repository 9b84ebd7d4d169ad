"""The trace recipe: what goes into a job's trace hash, and what does not."""

from __future__ import annotations

from tutopanda.core.blueprint import FanIn, JobGraph, expand, load_blueprint
from tutopanda.core.engine.trace import TRACE_VERSION, TraceIndex, job_trace
from tutopanda.core.store.hashing import hash_canonical


def _graph(**values: object) -> JobGraph:
    return expand(load_blueprint("image-audio"), {"NumOfSegments": 3, "NumOfImagesPerSegment": 2, **values})


def _hashes(canonical_id: str) -> str:
    return f"h({canonical_id})"


def test_trace_is_the_canonical_hash_of_the_documented_recipe() -> None:
    for job in _graph().jobs:
        bound = {
            alias: (
                {
                    "groupBy": b.group_by,
                    "orderBy": b.order_by,
                    "groups": [[_hashes(m) for m in g] for g in b.groups()],
                }
                if isinstance(b, FanIn)
                else _hashes(b)
            )
            for alias, b in job.bindings.items()
        }
        expected = hash_canonical(
            {
                "trace": TRACE_VERSION,
                "kind": job.kind,
                "variant": job.variant.to_dict(),
                "inputs": bound,
                "produces": [a.id for a in job.produces],
            }
        )
        assert job_trace(job, _hashes) == expected


def test_bindings_cover_every_consumed_id() -> None:
    for job in _graph().jobs:
        bound: set[str] = set()
        for binding in job.bindings.values():
            bound.update(m.id for m in binding.members) if isinstance(binding, FanIn) else bound.add(binding)
        assert bound == set(job.inputs), job.id


def test_trace_changes_with_values_order_and_variant_only() -> None:
    graph = _graph()
    timeline = next(job for job in graph.jobs if job.kind == "timeline")
    base = job_trace(timeline, _hashes)
    assert job_trace(timeline, _hashes) == base
    member = "Artifact:Images.SegmentImage[1][0]"
    assert job_trace(timeline, lambda i: "other" if i == member else _hashes(i)) != base
    other_variant = expand(
        load_blueprint("image-audio"),
        {"NumOfSegments": 3, "NumOfImagesPerSegment": 2},
        {"Images": ("replicate", "black-forest-labs/flux-schnell")},
    )
    image = next(job for job in graph.jobs if job.kind == "image")
    image2 = next(job for job in other_variant.jobs if job.id == image.id)
    assert job_trace(image, _hashes) != job_trace(image2, _hashes)


def test_a_manual_override_stands_unless_the_producer_made_newer_output_for_the_same_trace() -> None:
    from tutopanda.core.store.blob_ref import BlobRef
    from tutopanda.core.store.events import ArtefactEvent, ArtefactOutput, ArtefactStatus

    def event(inputs_hash: str, blob: str, status: ArtefactStatus = "succeeded") -> ArtefactEvent:
        return ArtefactEvent(
            artefact_id="Artifact:A.B",
            revision="rev-0001",
            inputs_hash=inputs_hash,
            output=ArtefactOutput(blob=BlobRef(hash=blob * 64, size=1, mime_type="text/plain"))
            if status == "succeeded"
            else ArtefactOutput(),
            status=status,
            produced_by="Producer:A.P",
            provider="p",
            created_at="2026-01-01T00:00:00.000Z",
        )

    index = TraceIndex.from_events([event("t1", "a"), event("manual", "b")])
    assert index.resolve("Artifact:A.B", "t1").output.blob.hash == "b" * 64  # type: ignore[union-attr]
    assert index.resolve("Artifact:A.B", None).output.blob.hash == "b" * 64  # type: ignore[union-attr]
    index.add(event("t2", "c"))  # the producer ran for new inputs: that supersedes the edit for them
    assert index.resolve("Artifact:A.B", "t2").output.blob.hash == "c" * 64  # type: ignore[union-attr]
    # undo back to t1: the user's edit (newer than t1's output) comes back, not the old draft
    assert index.resolve("Artifact:A.B", "t1").output.blob.hash == "b" * 64  # type: ignore[union-attr]
    index.add(event("t3", "", status="failed"))  # a failure never supersedes anything
    assert index.resolve("Artifact:A.B", "t3").output.blob.hash == "b" * 64  # type: ignore[union-attr]
    assert TraceIndex.from_events([event("t3", "", status="failed")]).resolve("Artifact:A.B", "t3") is None
    assert index.latest("Artifact:A.B").status == "failed"  # type: ignore[union-attr]
