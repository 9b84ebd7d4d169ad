"""Local rendering with the ffmpeg bundled in imageio-ffmpeg: provider ``tutopanda``, mode ``live``.

* ``segment-renderer`` (kind ``clip``): one segment's stills/video/text card under its narration.
* ``ordered-timeline`` (kind ``timeline``): the timeline document from the real clip lengths.
* ``mp4-exporter`` (kind ``export``): joins the clips (stream copy), mixes the ducked music, subtitles.

See ``docs/timeline.md`` for the pipeline and why it is incremental.
"""

from __future__ import annotations

from tutopanda.providers.registry import HandlerFactory, HandlerSpec, ProviderRegistry, Registration
from tutopanda.providers.render.handler import LOCAL_MODEL_KINDS, MODEL_KINDS, PROGRESS_MESSAGE, RenderHandler

__all__ = ["MODEL_KINDS", "PROGRESS_MESSAGE", "PROVIDER", "RenderHandler", "register_render"]

PROVIDER = "tutopanda"


def register_render(registry: ProviderRegistry) -> list[Registration]:
    """Register one ``live`` factory per render model (any environment)."""

    def build(spec: HandlerSpec) -> RenderHandler:
        return RenderHandler(spec.provider, spec.model, spec.environment, mode="live")

    bindings = [(PROVIDER, model, kind) for model, kind in MODEL_KINDS.items()]
    bindings += [("local", model, kind) for model, kind in LOCAL_MODEL_KINDS.items()]
    return [
        registry.add(
            HandlerFactory(
                provider=provider,
                model=model,
                environment="*",
                mode="live",
                build=build,
                kinds=frozenset({kind}),
                description=f"local ffmpeg render ({kind})",
            )
        )
        for provider, model, kind in bindings
    ]
