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

from tutopanda.providers.local.piper_engine import PIPER_MODEL_SHA256, PIPER_VOICE, piper_available
from tutopanda.providers.local.speech import SpeechHandler, plan_speech
from tutopanda.providers.local.speech_clip import SpeechClip, WordTiming

__all__ = [
    "PIPER_MODEL_SHA256",
    "PIPER_VOICE",
    "SpeechClip",
    "SpeechHandler",
    "WordTiming",
    "piper_available",
    "plan_speech",
]
