"""Local (offline) content providers: speech, slides, music, a draft script and template prompts.

Everything here runs on the machine with pip-installed wheels only (no system packages, no network):
eSpeak NG via ``espeakng-loader`` (or Piper with the ``neural`` extra), Pillow with Roboto from
``font-roboto``, and numpy. :func:`register_local` adds the handlers to a registry for mode ``live`` and
provider ``local`` under the model names the bundled modules use; see ``docs/providers.md``.

Also public for other parts of Tutopanda: :func:`render_title_card` / :func:`render_slide` (the clip
renderer draws title and text cards with them), :func:`frame_size`, :data:`FONT_DIRECTORY` (ffmpeg's
``fontsdir``) and :func:`parse_script_markdown` (``tutopanda query --script FILE``).
"""

from __future__ import annotations

from tutopanda.providers.local.draft_script import DraftScript, DraftScriptHandler, write_draft
from tutopanda.providers.local.fonts import FONT_DIRECTORY, font_path, load_font
from tutopanda.providers.local.frame_size import ASPECT_RATIOS, RESOLUTIONS, frame_size
from tutopanda.providers.local.moods import DEFAULT_MOOD, MOODS, Mood, detect_mood
from tutopanda.providers.local.music import MusicBed, synthesise_music
from tutopanda.providers.local.music_handler import SynthHandler
from tutopanda.providers.local.palettes import PALETTES, Palette, palette_for
from tutopanda.providers.local.piper_engine import PIPER_MODEL_SHA256, PIPER_VOICE, piper_available
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
from tutopanda.providers.local.speech import SpeechHandler, plan_speech
from tutopanda.providers.local.speech_clip import SpeechClip, WordTiming
from tutopanda.providers.local.template_prompts import (
    TemplatePromptsHandler,
    image_prompts,
    music_prompt,
    video_prompt,
)

__all__ = [
    "ASPECT_RATIOS",
    "DEFAULT_MOOD",
    "FONT_DIRECTORY",
    "LOCAL_MODELS",
    "LOCAL_PROVIDER",
    "MOODS",
    "PALETTES",
    "PIPER_MODEL_SHA256",
    "PIPER_VOICE",
    "RESOLUTIONS",
    "DraftScript",
    "DraftScriptHandler",
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
    "detect_mood",
    "draw_slide",
    "draw_title_card",
    "font_path",
    "frame_size",
    "image_prompts",
    "load_font",
    "music_prompt",
    "palette_for",
    "parse_script_markdown",
    "piper_available",
    "plan_speech",
    "register_local",
    "render_script_markdown",
    "render_slide",
    "render_title_card",
    "synthesise_music",
    "video_prompt",
    "wrap_text",
    "write_draft",
]
