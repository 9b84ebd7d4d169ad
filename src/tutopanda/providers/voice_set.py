"""The voice ids one speech provider/model accepts (:class:`VoiceSet`): the value handlers return.

Why a module of its own: speech handlers (local, mock, ElevenLabs) return a :class:`VoiceSet`, and
:mod:`tutopanda.providers.voices` looks handlers up in the default registry, which imports those
handlers. Keeping the value here, importing only core, keeps that lookup from closing an import circle.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tutopanda.core.blueprint.vocabulary import Verdict, Vocabulary, check

__all__ = ["DEFAULT_VOICE", "VoiceSet", "handler_voices"]

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
        """:func:`~tutopanda.core.blueprint.vocabulary.check`'s one-line answer for ``voice``, against
        these voices."""
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
