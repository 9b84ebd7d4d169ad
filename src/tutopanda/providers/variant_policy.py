"""Which provider/model a ``--provider MODULE=provider/model`` may name beyond a module's variants.

Why: a blueprint lists a few variants per module, but the registry can run many more (any OpenAI GPT
image or ElevenLabs voice model, any Replicate ``owner/name``). Core cannot ask the registry itself
(it imports nothing from providers), so the CLI installs this policy with
:func:`tutopanda.core.blueprint.expand.accept_unlisted_variants`. A pair is accepted when a non-mock
handler of the module's kind is registered for it *and builds* (offline): a Replicate name that is not
``owner/name[:version]`` is refused here, with the clear "has no variant" error listing what is
registered.
"""

from __future__ import annotations

from collections.abc import Sequence

from tutopanda.core.errors import TutopandaError

__all__ = ["RegistryVariants"]


class RegistryVariants:
    """:class:`~tutopanda.core.blueprint.expand.UnlistedVariants` backed by the default registry."""

    def accepts(self, provider: str, model: str, kind: str) -> bool:
        from tutopanda.providers.plugins import default_registry

        try:  # resolving in mode live never picks the mocks; building is offline
            default_registry().resolve(provider, model, "local", "live", kind)
        except TutopandaError:
            return False
        return True

    def registered(self, kind: str) -> Sequence[str]:
        from tutopanda.providers.plugins import default_registry

        return sorted(
            {
                f"{r.factory.provider}/{r.factory.model}"
                for r in default_registry().registrations
                if r.factory.mode != "mock"
                and r.factory.provider != "*"
                and (r.factory.kinds is None or kind in r.factory.kinds)
            }
        )
