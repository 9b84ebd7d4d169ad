"""The user's settings file, ``<root>/settings.toml``, and the per-provider config files beside it.

Format (read with ``tomllib``, validated with pydantic, rewritten only with ``tomlkit`` so comments and
formatting survive)::

    [general]                         # every key optional
    root = "/home/me/.tutopanda"      # the root this file belongs to (informational; written by init)
    blueprint = "image-audio"         # default blueprint: a bundled name or a YAML file
    concurrency = 4                   # jobs at once, 1..256
    language = "en"                   # ISO 639-1 code; unset = the blueprint's default
    audience = "adult"                # child, teen, adult, expert; unset = the blueprint's default
    style = "watercolor"              # a style of the shared list; unset = the blueprint's default
    voice = "default"                 # unset = the blueprint's default

    [[producers]]                     # zero or more; one per producer (blueprint module)
    producer = "Narration"            # module name in the blueprint
    provider = "local"
    model = "espeak-ng"
    environment = "local"             # optional, default "local"
    config = "providers/local.toml"   # optional, relative to the root

A provider config file holds one table per job kind (``[narration]``, ``[music]``, ``[image]`` …); the
keys of a kind's table are that job's provider config. Secrets never go in any of these files: they come
from the environment (``OPENAI_API_KEY``, ``REPLICATE_API_TOKEN``, ``ELEVENLABS_API_KEY``).

Every problem is a :class:`SettingsError` (a :class:`UsageError`, exit 2) whose one-line message names the
file, the line when known and the field, and whose hint says how to fix it. ``language``, ``audience``
and ``style`` are checked against the same vocabularies as the blueprint inputs they set
(:mod:`tutopanda.core.blueprint.vocabulary`), so a value the settings accept is never refused later by a
blueprint, and ``french`` gets "did you mean 'fr' (French)?".
"""

from __future__ import annotations

import difflib
import math
import re
import tomllib
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import tomlkit
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tutopanda.core.blueprint.vocabulary import check
from tutopanda.core.errors import UsageError
from tutopanda.core.store.atomic_file import create_exclusive, write_atomic
from tutopanda.core.store.storage import StorageConfig, StorageContext, validate_relative_path

__all__ = [
    "DEFAULT_BLUEPRINT",
    "DEFAULT_CONCURRENCY",
    "GENERAL_INPUTS",
    "OPTION_INPUTS",
    "PROVIDER_CONFIG_FILES",
    "SETTINGS_FILE",
    "GeneralSettings",
    "InitReport",
    "ProducerSettings",
    "Settings",
    "SettingsError",
    "general_input_values",
    "init_settings",
    "load_provider_config",
    "load_settings",
    "update_general_settings",
]

SETTINGS_FILE = "settings.toml"
"""The settings file's name, directly under the storage root."""

PROVIDERS_DIR = "providers"
BUILDS_DIR = "builds"
DEFAULT_BLUEPRINT = "image-audio"
DEFAULT_CONCURRENCY = 4
MAX_CONCURRENCY = 256

OPTION_INPUTS: Mapping[str, str] = {
    "segments": "NumOfSegments",
    "duration": "Duration",
    "style": "Style",
    "audience": "Audience",
    "voice": "VoiceId",
    "language": "Language",
    "resolution": "Resolution",
    "burn_subtitles": "BurnSubtitles",
}
"""The options of a new movie that the front ends offer by name, and the blueprint input each sets:
``tutopanda query``'s flags (``--burn-subtitles`` for ``burn_subtitles``) and the arguments of the MCP
tool ``make_movie``, which takes all of them but the ones
:data:`tutopanda.mcp_server.operations.NOT_MCP_OPTIONS` names. An option is added here, then to each
front end (``tests/test_front_end_options.py`` checks that they keep to this table)."""

GENERAL_INPUTS: Mapping[str, str] = {
    "language": "Language",
    "audience": "Audience",
    "style": "Style",
    "voice": "VoiceId",
}
"""``[general]`` settings a new movie takes as its inputs' values when it was not given them."""


def general_input_values(
    settings: Settings, has_input: Callable[[str], bool], given: Collection[str]
) -> dict[str, object]:
    """The ``[general]`` settings' values for a new movie: for each input its blueprint has
    (``has_input``) and that is not in ``given`` (a flag or argument set it). Both front ends use it."""
    values: dict[str, object] = {}
    for key, name in GENERAL_INPUTS.items():
        value = getattr(settings.general, key, None)
        if value is not None and name not in given and has_input(name):
            values[name] = value
    return values


_NAME = r"^[A-Za-z][A-Za-z0-9_]*$"
_PROVIDER = r"^[a-z0-9][a-z0-9_-]*$"


class SettingsError(UsageError):
    """The settings file (or a provider config file it names) is invalid.

    The message starts with ``<file>:<line>: `` (or ``<file>: `` when the line is unknown).
    """

    def __init__(self, message: str, hint: str | None = None, *, file: str, line: int | None = None) -> None:
        self.file = file
        self.line = line
        self.detail = message
        location = f"{file}:{line}: " if line is not None else f"{file}: "
        super().__init__(location + message, hint)


class GeneralSettings(BaseModel):
    """The ``[general]`` table. ``None`` means "not set here": the blueprint's default applies."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    root: str | None = Field(default=None, min_length=1)
    blueprint: str = Field(default=DEFAULT_BLUEPRINT, min_length=1)
    concurrency: int = Field(default=DEFAULT_CONCURRENCY, ge=1, le=MAX_CONCURRENCY)
    language: str | None = Field(default=None, min_length=1)
    audience: str | None = Field(default=None, min_length=1)
    style: str | None = Field(default=None, min_length=1)
    voice: str | None = Field(default=None, min_length=1)
    executor: Literal["local", "dbos"] = "local"


class DbosSettings(BaseModel):
    """The ``[dbos]`` table: where durable builds keep their state (``docs/scale-out.md``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    database_url: str | None = Field(default=None, min_length=1, pattern=r"^(sqlite|postgres|postgresql)")


class ProducerSettings(BaseModel):
    """One ``[[producers]]`` entry: which provider/model runs a producer, and with which config file."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    producer: str = Field(pattern=_NAME)
    provider: str = Field(pattern=_PROVIDER)
    model: str = Field(min_length=1, pattern=r"^\S+$")
    environment: str = Field(default="local", pattern=_PROVIDER)
    config: str | None = Field(default=None, min_length=1)


class _SettingsFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    general: GeneralSettings = Field(default_factory=GeneralSettings)
    dbos: DbosSettings = Field(default_factory=DbosSettings)
    producers: list[ProducerSettings] = Field(default_factory=list)


@dataclass(frozen=True)
class Settings:
    """Validated settings. ``path`` is the settings file; ``from_file`` is False when it did not exist
    (every value is then a default, and callers may say so once)."""

    general: GeneralSettings
    producers: tuple[ProducerSettings, ...]
    path: str
    from_file: bool
    dbos: DbosSettings = field(default_factory=DbosSettings)

    def producer(self, name: str) -> ProducerSettings | None:
        """The entry for producer (module) ``name``, if the file has one."""
        return next((entry for entry in self.producers if entry.producer == name), None)


@dataclass(frozen=True)
class InitReport:
    """What :func:`init_settings` did: paths created and paths that already existed (left untouched).

    Directories end with ``/``; files do not.
    """

    created: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    root: str = ""


# -- hints -------------------------------------------------------------------------------------------

_HINTS: dict[str, str] = {
    "root": 'set root to the storage folder, e.g. root = "/home/me/.tutopanda", or delete the line',
    "blueprint": "set blueprint to a bundled name (tutopanda blueprints list) or a YAML file",
    "concurrency": f"set concurrency to a whole number from 1 to {MAX_CONCURRENCY}, e.g. concurrency = 4",
    "language": 'use a lower-case two-letter ISO 639-1 code, e.g. language = "en", or delete the line',
    "audience": 'set audience to a string, e.g. audience = "adult", or delete the line',
    "style": 'set style to a string, e.g. style = "watercolor", or delete the line',
    "voice": 'set voice to a provider voice id, e.g. voice = "default", or delete the line',
    "executor": 'set executor to "local" (this process) or "dbos" (durable, on workers), or delete the line',
    "database_url": 'set database_url = "sqlite:///path/dbos.sqlite" or "postgresql://user@host/db"',
    "producer": 'name a blueprint module in letters, digits and "_", e.g. producer = "Narration"',
    "provider": 'use a provider name in lower-case letters, digits, "-" and "_", e.g. provider = "local"',
    "model": 'set model to the model id without spaces, e.g. model = "espeak-ng"',
    "environment": 'use lower-case letters, digits, "-" and "_", e.g. environment = "local"',
    "config": 'give a TOML file relative to the root, e.g. config = "providers/local.toml"',
}


def _hint_for(loc: tuple[int | str, ...], kind: str) -> str:
    name = str(loc[-1]) if loc else ""
    if kind == "extra_forbidden":
        if len(loc) == 1:
            allowed = ["general", "producers"]
            where = "at the top level"
        elif loc[0] == "general":
            allowed = list(GeneralSettings.model_fields)
            where = "in [general]"
        else:
            allowed = list(ProducerSettings.model_fields)
            where = "in [[producers]]"
        close = difflib.get_close_matches(name, allowed, n=1)
        guess = f"did you mean '{close[0]}'? " if close else ""
        return f"{guess}allowed {where}: {', '.join(allowed)}"
    if len(loc) == 1 and loc[0] == "general":
        return "general must be a table: write [general] on its own line, then key = value lines"
    if len(loc) in (1, 2) and loc[0] == "producers" and name not in _HINTS:
        return "write each producer as a [[producers]] table with producer, provider and model keys"
    return _HINTS.get(name, "fix the value, or delete the line to use the default")


def _field_label(loc: tuple[int | str, ...]) -> str:
    if len(loc) >= 2 and loc[0] == "producers" and isinstance(loc[1], int):
        rest = ".".join(str(part) for part in loc[2:])
        return f"producers[{loc[1] + 1}]" + (f".{rest}" if rest else "")
    return ".".join(str(part) for part in loc)


# -- locating a field in the text ---------------------------------------------------------------------

_WORDED_SETTINGS = {"language": "language", "audience": "audience", "style": "style"}
"""``[general]`` keys checked against a vocabulary (key -> vocabulary name)."""


def _check_words(general: GeneralSettings, text: str, path: str) -> GeneralSettings:
    """``general`` with language/audience/style checked and spelled canonically (``EN`` -> ``en``)."""
    canonical: dict[str, str] = {}
    for key, vocabulary in _WORDED_SETTINGS.items():
        value = getattr(general, key)
        if value is None:
            continue
        verdict = check(vocabulary, value)
        if verdict.value is None:
            loc: tuple[int | str, ...] = ("general", key)
            raise SettingsError(
                f"{_field_label(loc)}: {verdict.message}",
                f"{verdict.hint}; or delete the line to use the blueprint's default",
                file=path,
                line=_locate(text, loc),
            )
        if verdict.value != value:
            canonical[key] = verdict.value
    return general.model_copy(update=canonical) if canonical else general


_HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\"-]+)\s*\]\]?\s*(#.*)?$")


def _key_pattern(key: str) -> re.Pattern[str]:
    return re.compile(rf"^\s*(?:{re.escape(key)}|\"{re.escape(key)}\"|'{re.escape(key)}')\s*=")


def _locate(text: str, loc: tuple[int | str, ...]) -> int | None:
    """Best-effort 1-based line of the field ``loc`` names (its key line, else its table header)."""
    lines = text.splitlines()
    if not loc:
        return None
    table: str | None = None  # None = top level
    array_index = -1
    header_line: int | None = None
    key = str(loc[-1])
    if loc[0] == "producers" and len(loc) >= 2 and isinstance(loc[1], int):
        want_table, want_index, key_wanted = "producers", loc[1], len(loc) >= 3
    elif loc[0] == "general" and len(loc) >= 2:
        want_table, want_index, key_wanted = "general", -1, True
    else:  # a top-level key or table
        want_table, want_index, key_wanted = "", -1, True
        key = str(loc[0])
    counts: dict[str, int] = {}
    for number, line in enumerate(lines, start=1):
        header = _HEADER.match(line)
        if header:
            name = header.group(2).strip('"')
            table = name
            if header.group(1) == "[[":
                counts[name] = counts.get(name, 0) + 1
                array_index = counts[name] - 1
            else:
                array_index = -1
            if want_table == "" and name == key:
                return number
            if name == want_table and array_index == want_index:
                header_line = number
            continue
        in_wanted = (table is None and want_table == "") or (
            table == want_table and array_index == want_index and want_table != ""
        )
        if in_wanted and key_wanted and _key_pattern(key).match(line):
            return number
    return header_line


# -- loading -----------------------------------------------------------------------------------------


def _open(root: str | Path | StorageContext) -> StorageContext:
    if isinstance(root, StorageContext):
        return root
    return StorageContext.open(StorageConfig(root=root))


def _parse_toml(text: str, path: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"\(at line (\d+), column \d+\)", str(exc))
        detail = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc)) or "invalid TOML"
        raise SettingsError(
            f"not valid TOML: {detail}",
            "fix the syntax (key = value, strings in double quotes, [table] headers)",
            file=path,
            line=int(found.group(1)) if found else None,
        ) from exc
    except (ValueError, RecursionError) as exc:  # a number with too many digits; nesting too deep
        raise SettingsError(
            f"not valid TOML: {exc if isinstance(exc, ValueError) else 'it nests too deeply'}",
            "write plain values (numbers of at most a few digits, shallow tables)",
            file=path,
        ) from None


def _read_text(ctx: StorageContext, path: str) -> str:
    try:
        return ctx.read_bytes(path).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SettingsError("not UTF-8 text", "save the file as UTF-8", file=path, line=None) from exc


def _validate(text: str, path: str, ctx: StorageContext) -> Settings:
    data = _parse_toml(text, path)
    try:
        parsed = _SettingsFile.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = tuple(first["loc"])
        label = _field_label(loc)
        if first["type"] == "extra_forbidden":
            message = f"unknown field {label}"
        elif first["type"] == "missing":
            message = f"{label} is missing"
        else:
            message = f"{label} = {first['input']!r}: {first['msg']}"
        raise SettingsError(
            message, _hint_for(loc, first["type"]), file=path, line=_locate(text, loc)
        ) from exc
    seen: dict[str, int] = {}
    for index, entry in enumerate(parsed.producers):
        loc_producer: tuple[int | str, ...] = ("producers", index, "producer")
        if entry.producer in seen:
            raise SettingsError(
                f"{_field_label(loc_producer)}: producer {entry.producer!r} is already configured by "
                f"producers[{seen[entry.producer] + 1}]",
                "keep one [[producers]] entry per producer",
                file=path,
                line=_locate(text, loc_producer),
            )
        seen[entry.producer] = index
        if entry.config is not None:
            loc_config: tuple[int | str, ...] = ("producers", index, "config")
            line = _locate(text, loc_config)
            try:
                relative = validate_relative_path(entry.config, what="config path")
            except UsageError as exc:
                raise SettingsError(
                    f"{_field_label(loc_config)} = {entry.config!r}: not a plain path inside the root",
                    _HINTS["config"] + " (no '..', no absolute paths)",
                    file=path,
                    line=line,
                ) from exc
            if not ctx.exists(ctx.join(ctx.root, relative)):
                raise SettingsError(
                    f"{_field_label(loc_config)}: config file {relative} does not exist under {ctx.root}",
                    "fix the path, run 'tutopanda init' to create the default provider configs, "
                    "or delete the config line",
                    file=path,
                    line=line,
                )
    general = _check_words(parsed.general, text, path)
    if general.root is None:
        general = general.model_copy(update={"root": ctx.root})
    return Settings(
        general=general, producers=tuple(parsed.producers), path=path, from_file=True, dbos=parsed.dbos
    )


def _check_json_values(value: Any, loc: tuple[str, ...], text: str, path: str) -> None:
    """Refuse what a provider config cannot hold: it is stored as JSON and hashed into traces.

    TOML has ``nan``, ``inf`` and dates; JSON has none of them.
    """
    if isinstance(value, dict):
        for key, item in value.items():
            _check_json_values(item, (*loc, key), text, path)
    elif isinstance(value, list):
        for item in value:
            _check_json_values(item, loc, text, path)
    elif (isinstance(value, float) and not math.isfinite(value)) or not isinstance(
        value, str | int | float | bool
    ):
        raise SettingsError(
            f"{'.'.join(loc)} = {value!r}: a provider config takes text, numbers, booleans, lists and tables",
            "write a finite number, or quote the value to make it text",
            file=path,
            line=_locate(text, loc),
        )


def load_settings(root: str | Path | StorageContext) -> Settings:
    """The settings of ``root``: ``<root>/settings.toml`` validated, or every default when it is missing.

    Raises :class:`SettingsError` (exit 2) naming the file, line and field for anything invalid.
    """
    ctx = _open(root)
    path = ctx.join(ctx.root, SETTINGS_FILE)
    shown = ctx.display(path)  # s3://bucket/…, never bare
    try:
        text = _read_text(ctx, path)
    except FileNotFoundError:
        return Settings(general=GeneralSettings(root=ctx.url), producers=(), path=shown, from_file=False)
    return _validate(text, shown, ctx)


def load_provider_config(
    root: str | Path | StorageContext, config: str, kind: str | None = None
) -> dict[str, Any]:
    """Read the provider config file ``config`` (relative to the root).

    With ``kind``, return that kind's table (empty when the file has none); without, the whole file.
    A file that is missing, not TOML, or whose top-level values are not tables is a :class:`SettingsError`.
    """
    ctx = _open(root)
    relative = validate_relative_path(config, what="config path")
    path = ctx.join(ctx.root, relative)
    try:
        text = _read_text(ctx, path)
    except FileNotFoundError as exc:
        raise SettingsError(
            "provider config file does not exist",
            "run 'tutopanda init' to create the default provider configs, or fix the config path",
            file=path,
        ) from exc
    data = _parse_toml(text, path)
    for name, value in data.items():
        if not isinstance(value, dict):
            raise SettingsError(
                f"{name} = {value!r}: top-level keys must be tables, one per job kind",
                f"move it under a [kind] table such as [narration] (e.g. [narration] then {name} = ...)",
                file=path,
                line=_locate(text, (name,)),
            )
        _check_json_values(value, (name,), text, path)
    if kind is None:
        return data
    section = data.get(kind, {})
    return dict(section)


def update_general_settings(root: str | Path | StorageContext, changes: Mapping[str, object]) -> Settings:
    """Set (or, with ``None``, remove) keys of ``[general]``, keeping every comment and the layout.

    The result is validated before anything is written; the file is replaced atomically.
    """
    ctx = _open(root)
    path = ctx.join(ctx.root, SETTINGS_FILE)
    unknown = sorted(set(changes) - set(GeneralSettings.model_fields))
    if unknown:
        raise UsageError(
            f"unknown general setting {unknown[0]!r}",
            f"use one of {', '.join(GeneralSettings.model_fields)}",
        )
    try:
        text = _read_text(ctx, path)
    except FileNotFoundError as exc:
        raise SettingsError(
            "settings file does not exist", "run 'tutopanda init' first to create it", file=path
        ) from exc
    _validate(text, path, ctx)
    document = tomlkit.parse(text)
    general = document.get("general")
    if general is None:
        general = tomlkit.table()
        document.add("general", general)
    for key, value in changes.items():
        if value is None:
            if key in general:
                del general[key]
        else:
            general[key] = value
    new_text = tomlkit.dumps(document)
    settings = _validate(new_text, path, ctx)
    write_atomic(ctx, path, new_text.encode("utf-8"))
    return settings


# -- init --------------------------------------------------------------------------------------------


def _settings_template(root: str) -> str:
    return f"""\
# Tutopanda settings, created by `tutopanda init`. Edit freely: init never overwrites this file.
# Precedence: a command-line flag wins over this file, which wins over the blueprint's default.
# Secrets (API keys) never go here or in providers/*.toml: set them in the environment instead
# (OPENAI_API_KEY, REPLICATE_API_TOKEN, ELEVENLABS_API_KEY).

[general]
# The storage root this file belongs to; movies live in <root>/builds/<movie-id>/.
root = {tomlkit.string(root).as_string()}
# The blueprint used when a command is given none: a bundled name (`tutopanda blueprints list`)
# or a YAML file.
blueprint = "{DEFAULT_BLUEPRINT}"
# How many jobs run at once (1 to {MAX_CONCURRENCY}).
concurrency = {DEFAULT_CONCURRENCY}
# Narration language, an ISO 639-1 code (en, fr, de, ...). Unset: the blueprint's default.
# language = "en"
# Audience, e.g. child, teen, adult, expert. Unset: the blueprint's default.
# audience = "adult"
# Visual style, e.g. illustration, photorealistic, watercolor, anime, diagram, cinematic.
# Unset: the blueprint's default.
# style = "illustration"
# Narration voice id; "default" lets each provider pick its standard voice.
# voice = "default"
# Who runs `build run`: "local" (this process) or "dbos" (a durable workflow run by
# `tutopanda worker` processes; see docs/scale-out.md). The --executor flag wins.
# executor = "local"

# [dbos]
# The DBOS system database of durable builds: SQLite under the root by default (one machine), a shared
# PostgreSQL for a fleet. The --database-url flag and TUTOPANDA_DBOS_DATABASE_URL win.
# database_url = "postgresql://builder@db.internal/tutopanda"

# Which provider and model runs a producer (a module of the blueprint: Script, Narration, Images,
# Music, ...). A producer without an entry runs the blueprint's first (default) variant.
# `environment` defaults to "local"; `config` is a TOML file relative to the root, with one table
# per job kind (see providers/).
#
# [[producers]]
# producer = "Narration"
# provider = "local"
# model = "espeak-ng"
# environment = "local"
# config = "providers/local.toml"
#
# [[producers]]
# producer = "Images"
# provider = "replicate"
# model = "black-forest-labs/flux-schnell"
# config = "providers/replicate.toml"
"""


_LOCAL_CONFIG = """\
# Config for the offline `local` provider: no network, no API key.
# One table per job kind; its keys are that job's config. Used by a [[producers]] entry in
# settings.toml with config = "providers/local.toml".

[narration]
# Speech engine: the narration variant names it (local/piper or local/espeak-ng; `tutopanda query`
# picks Piper for a new movie when it has a voice for the language). "auto" keeps the variant's engine;
# "espeak" or "piper" may only confirm it.
engine = "auto"
# Speaking rate in words per minute (80 to 450).
wordsPerMinute = 160
# Voice pitch (0 to 99).
pitch = 50

[music]
# Mood of the synthesised music: calm, tense, uplifting or reflective.
# Unset: taken from the music prompt.
# mood = "calm"
"""

_OPENAI_CONFIG = """\
# Config for OpenAI models. One table per job kind; its keys are that job's config.
# No secrets here: the API key comes from the environment variable OPENAI_API_KEY.

[script]
# temperature = 0.7

[narration]
# Voice of gpt-4o-mini-tts (used when VoiceId is "default").
# voice = "alloy"
# speed = 1.0
"""

_REPLICATE_CONFIG = """\
# Config for models run on Replicate. One table per job kind; its keys are that job's config.
# No secrets here: the API token comes from the environment variable REPLICATE_API_TOKEN.

[image]
# outputFormat = "png"
# numInferenceSteps = 4

[music]
# outputFormat = "wav"
"""

_ELEVENLABS_CONFIG = """\
# Config for ElevenLabs voices and music. One table per job kind; its keys are that job's config.
# No secrets here: the API key comes from the environment variable ELEVENLABS_API_KEY.

[narration]
# stability = 0.5
# similarityBoost = 0.75

[music]
# (no settings yet)
"""

PROVIDER_CONFIG_FILES: dict[str, str] = {
    "local.toml": _LOCAL_CONFIG,
    "openai.toml": _OPENAI_CONFIG,
    "replicate.toml": _REPLICATE_CONFIG,
    "elevenlabs.toml": _ELEVENLABS_CONFIG,
}
"""The default provider config files ``init`` scaffolds under ``<root>/providers/`` (name -> text)."""


def init_settings(root: str | Path | StorageContext) -> InitReport:
    """Create the root, ``builds/``, ``providers/``, ``settings.toml`` and the default provider configs.

    Idempotent: anything that exists is left exactly as it is and reported under ``kept``; files are
    created whole or not at all and never overwrite (an exclusive create, so two concurrent inits
    cannot clobber each other).
    """
    ctx = _open(root)
    created: list[str] = []
    kept: list[str] = []
    for directory in (ctx.root, ctx.join(ctx.root, BUILDS_DIR), ctx.join(ctx.root, PROVIDERS_DIR)):
        label = directory.rstrip("/") + "/"
        if ctx.exists(directory):
            kept.append(label)
        else:
            ctx.makedirs(directory)
            created.append(label)
    files = [(ctx.join(ctx.root, SETTINGS_FILE), _settings_template(ctx.root))]
    files += [(ctx.join(ctx.root, PROVIDERS_DIR, name), text) for name, text in PROVIDER_CONFIG_FILES.items()]
    for path, text in files:
        if create_exclusive(ctx, path, text.encode("utf-8")):
            created.append(path)
        else:
            kept.append(path)
    return InitReport(created=created, kept=kept, root=ctx.root)
