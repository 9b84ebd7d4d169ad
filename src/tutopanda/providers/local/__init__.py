"""Local (offline) content providers: speech, slides, music, a draft script and template prompts.

Everything here runs on the machine with pip-installed wheels only (no system packages, no network):
eSpeak NG via ``espeakng-loader`` (or Piper with the ``neural`` extra), Pillow with Roboto from
``font-roboto``, and numpy. :func:`register_local` adds the handlers to a registry for mode ``live`` and
provider ``local`` under the model names the bundled modules use; see ``docs/providers.md``.

Also public for other parts of Tutopanda: :func:`render_title_card` / :func:`render_slide` (the clip
renderer moves text-free slide backgrounds for segments without pictures and draws its text over them),
:func:`frame_size`, :data:`FONT_DIRECTORY` (ffmpeg's ``fontsdir``) and :func:`parse_script_markdown`
(``tutopanda query --script FILE``).

Imports are lazy (PEP 562): ``from tutopanda.providers.local import parse_script_markdown`` loads only
that module, so registering the handlers at start-up or parsing a ``--script`` file does not pay for
numpy, Pillow or the speech engines.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tutopanda.providers.local.draft_script import DraftScript, DraftScriptHandler, write_draft
    from tutopanda.providers.local.fonts import FONT_DIRECTORY, font_path, load_font
    from tutopanda.providers.local.moods import DEFAULT_MOOD, MOODS, Mood, detect_mood
    from tutopanda.providers.local.music import MusicBed, synthesise_music
    from tutopanda.providers.local.music_handler import SynthHandler
    from tutopanda.providers.local.palettes import PALETTES, Palette, palette_for
    from tutopanda.providers.local.piper_engine import (
        PIPER_MODEL_SHA256,
        PIPER_VOICE,
        piper_available,
        piper_voice_for,
    )
    from tutopanda.providers.local.registration import LOCAL_MODELS, LOCAL_PROVIDER, register_local
    from tutopanda.providers.local.script_markdown import (
        ParsedScript,
        parse_script_markdown,
        render_script_markdown,
    )
    from tutopanda.providers.local.slides import (
        draw_slide,
        draw_title_card,
        render_slide,
        render_title_card,
        wrap_text,
    )
    from tutopanda.providers.local.slides_handler import SlidesHandler
    from tutopanda.providers.local.speech import (
        LocalSpeechChoice,
        SpeechHandler,
        choose_local_speech,
        plan_speech,
        speech_voices,
    )
    from tutopanda.providers.local.speech_clip import SpeechClip, WordTiming, read_word_timings
    from tutopanda.providers.local.template_prompts import (
        TemplatePromptsHandler,
        image_prompts,
        music_prompt,
        video_prompt,
    )

__all__ = [
    "DEFAULT_MOOD",
    "FONT_DIRECTORY",
    "LOCAL_MODELS",
    "LOCAL_PROVIDER",
    "MOODS",
    "PALETTES",
    "PIPER_MODEL_SHA256",
    "PIPER_VOICE",
    "DraftScript",
    "DraftScriptHandler",
    "LocalSpeechChoice",
    "Mood",
    "MusicBed",
    "Palette",
    "ParsedScript",
    "SlidesHandler",
    "SpeechClip",
    "SpeechHandler",
    "SynthHandler",
    "TemplatePromptsHandler",
    "WordTiming",
    "choose_local_speech",
    "detect_mood",
    "draw_slide",
    "draw_title_card",
    "font_path",
    "image_prompts",
    "load_font",
    "music_prompt",
    "palette_for",
    "parse_script_markdown",
    "piper_available",
    "piper_voice_for",
    "plan_speech",
    "read_word_timings",
    "register_local",
    "render_script_markdown",
    "render_slide",
    "render_title_card",
    "speech_voices",
    "synthesise_music",
    "video_prompt",
    "wrap_text",
    "write_draft",
]

_MODULE_OF: dict[str, str] = {
    "DraftScript": "draft_script",
    "DraftScriptHandler": "draft_script",
    "write_draft": "draft_script",
    "FONT_DIRECTORY": "fonts",
    "font_path": "fonts",
    "load_font": "fonts",
    "DEFAULT_MOOD": "moods",
    "MOODS": "moods",
    "Mood": "moods",
    "detect_mood": "moods",
    "MusicBed": "music",
    "synthesise_music": "music",
    "SynthHandler": "music_handler",
    "PALETTES": "palettes",
    "Palette": "palettes",
    "palette_for": "palettes",
    "PIPER_MODEL_SHA256": "piper_engine",
    "PIPER_VOICE": "piper_engine",
    "piper_available": "piper_engine",
    "piper_voice_for": "piper_engine",
    "LOCAL_MODELS": "registration",
    "LOCAL_PROVIDER": "registration",
    "register_local": "registration",
    "ParsedScript": "script_markdown",
    "parse_script_markdown": "script_markdown",
    "render_script_markdown": "script_markdown",
    "draw_slide": "slides",
    "draw_title_card": "slides",
    "render_slide": "slides",
    "render_title_card": "slides",
    "wrap_text": "slides",
    "SlidesHandler": "slides_handler",
    "LocalSpeechChoice": "speech",
    "SpeechHandler": "speech",
    "choose_local_speech": "speech",
    "plan_speech": "speech",
    "speech_voices": "speech",
    "SpeechClip": "speech_clip",
    "WordTiming": "speech_clip",
    "read_word_timings": "speech_clip",
    "TemplatePromptsHandler": "template_prompts",
    "image_prompts": "template_prompts",
    "music_prompt": "template_prompts",
    "video_prompt": "template_prompts",
}
"""Which submodule defines each exported name."""


def __getattr__(name: str) -> Any:
    """Load the submodule that defines ``name`` on first use."""
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
