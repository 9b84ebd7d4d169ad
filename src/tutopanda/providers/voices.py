"""Which voice ids a speech provider accepts, asked before a movie records one.

Why ask up front: a ``VoiceId`` the speech engine does not know only fails when the narration job runs,
after the script (and maybe paid images) were made. ``tutopanda query --voice`` checks the id against
the voices of the provider/model that will read the narration, and a typo exits 2 with a "did you mean"
instead.

Where the lists come from: a narration handler may offer ``voices() -> VoiceSet | None``. The local
speech handler returns its eSpeak NG (and Piper) voices, the mock returns None (it reads no voice, so
any id is fine), and a provider without the method — the live providers, third-party plugins — is
treated as accepting any id: it checks the voice itself when it runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tutopanda.core.errors import ProviderConfigError
from tutopanda.core.vocabulary import Verdict, Vocabulary, check
from tutopanda.providers.registry import ProviderRegistry

__all__ = ["DEFAULT_VOICE", "VoiceSet", "handler_voices", "voices_for"]

DEFAULT_VOICE = "default"
"""The voice id every speech provider accepts: its standard voice for the narration language."""


@dataclass(frozen=True)
class VoiceSet:
    """The voice ids one speech provider/model accepts.

    ``names`` are the ids a user is shown and offered as suggestions; ``rule``, when given, decides the
    rest (eSpeak NG combines any language voice with a variant, ``en-us+m3``, too many to list).
    ``examples`` is a short text of typical ids for hints (default: the names). Ids are compared without
    regard to case, as the engines do; ``default`` is always accepted.
    """

    provider: str
    model: str
    names: tuple[str, ...]
    rule: Callable[[str], bool] | None = None
    examples: str = ""

    def accepts(self, voice: str) -> bool:
        """Whether ``voice`` is ``default``, one of ``names`` or passes ``rule``."""
        folded = voice.strip().lower()  # lower(), not casefold(): exactly what the engines compare
        if folded == DEFAULT_VOICE or folded in {name.lower() for name in self.names}:
            return True
        return self.rule is not None and self.rule(folded)

    def verdict(self, voice: str) -> Verdict:
        """:func:`tutopanda.core.vocabulary.check`'s one-line answer for ``voice``, against these voices."""
        if self.accepts(voice):
            return Verdict(voice)
        names = tuple(dict.fromkeys((DEFAULT_VOICE, *self.names)))
        where = f"{self.provider}/{self.model}"
        vocabulary = Vocabulary(
            f"{where} voices",
            f"a voice of {where}",
            names,
            "use 'default' (the provider's standard voice for the narration language) or a voice such as "
            + (self.examples or ", ".join(self.names[:8])),
        )
        return check(vocabulary, voice)


def handler_voices(handler: object) -> VoiceSet | None:
    """The handler's ``voices()``, or None (any id) when it offers none."""
    voices = getattr(handler, "voices", None)
    if not callable(voices):
        return None
    found = voices()
    return found if isinstance(found, VoiceSet) else None


def voices_for(
    provider: str,
    model: str,
    *,
    registry: ProviderRegistry | None = None,
    environment: str = "local",
) -> VoiceSet | None:
    """The voices of the live narration handler for ``provider``/``model``, or None when unknown.

    None means "any id": no handler is registered for it here (a live provider whose plugin is not
    installed), or the handler does not list its voices. Building a handler never touches the network.
    """
    if registry is None:
        from tutopanda.providers.plugins import default_registry

        registry = default_registry()
    try:
        handler = registry.resolve(provider, model, environment, "live", "narration")
    except ProviderConfigError:
        return None
    return handler_voices(handler)
