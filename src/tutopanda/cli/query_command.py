"""``tutopanda query "PROMPT"``: one command from a question to a movie file.

Creates (or continues) a movie, records the given values, optionally takes the user's own script,
builds it with the local offline providers, and publishes the MP4 to ``<root>/movies/<id>/<title>.mp4``.
Every step is an engine verb; this module only maps flags to input values and prints the result.

Values of a new movie come from, in order of precedence: a flag, ``<root>/settings.toml`` (``[general]``
blueprint, language, audience, style, voice and the ``[[producers]]`` model choices), the blueprint's
default. An existing movie keeps its recorded values and selection: only flags change them, so editing
the settings file never dirties a movie. ``--concurrency`` falls back to the settings, then to 4.

Flags are checked before anything is created: ``--style``, ``--audience``, ``--language`` and
``--resolution`` against the vocabularies their inputs use (:mod:`tutopanda.core.blueprint.vocabulary`), and
``--voice`` against the voices of the speech provider the movie's narration module runs
(:func:`tutopanda.providers.voices.voices_for`). A bad value exits 2 with one line naming the flag and
the allowed values or a "did you mean".
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tutopanda.cli.build_commands import (
    ModeOpt,
    cost_text,
    execute_build,
    offline_only,
    print_plan,
    provider_mode,
    raise_for_outcome,
)
from tutopanda.cli.options import JsonOpt
from tutopanda.cli.output import confirm, print_json, stderr_console, stdout_console
from tutopanda.cli.settings import CONCURRENCY_HELP, job_concurrency, state
from tutopanda.core.blueprint.vocabulary import VOCABULARIES
from tutopanda.core.limits import MAX_DURATION_SECONDS, MAX_LOOP_COUNT, MIN_DURATION_SECONDS
from tutopanda.core.movie.ids import new_movie_id

if TYPE_CHECKING:
    from tutopanda.core.blueprint import Blueprint
    from tutopanda.core.engine.change import Change, MovieState, Outcome
    from tutopanda.core.engine.planner import Plan
    from tutopanda.core.engine.provider_contract import Mode
    from tutopanda.core.store.storage import StorageContext
    from tutopanda.providers.local.script_markdown import ParsedScript
    from tutopanda.providers.writers.choice import WriterChoice
    from tutopanda.settings import Settings

__all__ = ["register"]

_FLAG_INPUTS = {
    "segments": "NumOfSegments",
    "duration": "Duration",
    "style": "Style",
    "audience": "Audience",
    "voice": "VoiceId",
    "language": "Language",
    "resolution": "Resolution",
    "burn_subtitles": "BurnSubtitles",
}

_SETTINGS_INPUTS = {"language": "Language", "audience": "Audience", "style": "Style", "voice": "VoiceId"}
"""``[general]`` keys of settings.toml -> the blueprint input they set for a new movie."""


def _values(blueprint: Blueprint, prompt: str | None, flags: dict[str, Any]) -> dict[str, object]:
    from tutopanda.core.blueprint.vocabulary import check, find_vocabulary
    from tutopanda.core.errors import InputValidationError, UsageError

    values: dict[str, object] = {}
    if prompt is not None:
        values["InquiryPrompt"] = prompt
    for flag, name in _FLAG_INPUTS.items():
        value = flags.get(flag)
        if value is None:
            continue
        spec = blueprint.input(name)
        option = "--" + flag.replace("_", "-")
        if spec is None:
            raise UsageError(
                f"{option} does not apply to blueprint {blueprint.meta.id} (it has no {name} input)",
                f"drop {option}, or see 'tutopanda blueprints describe {blueprint.meta.id}'",
            )
        vocabulary = find_vocabulary(spec.vocabulary) if spec.vocabulary else None
        if vocabulary is not None and isinstance(value, str):  # the flag's name in the one-line error
            verdict = check(vocabulary, value)
            if verdict.value is None:
                raise InputValidationError(f"{option}: {verdict.message}", verdict.hint)
            value = verdict.value
        values[name] = value
    return values


def _check_voice(blueprint: Blueprint, voice: str, selection: dict[str, tuple[str, str]]) -> None:
    """Refuse a ``--voice`` the speech provider of a narration module that reads it does not have.

    Only modules whose ``VoiceId`` is wired to the top-level ``VoiceId`` input are concerned; a provider
    that does not list its voices (live providers, plugins) accepts any id and checks it when it runs.
    The movie's selected variant decides, also with ``--providers mock``, because the voice is recorded
    for every later build.
    """
    from tutopanda.core.blueprint.expand import select_variants
    from tutopanda.core.blueprint.model import InputRef
    from tutopanda.core.errors import InputValidationError
    from tutopanda.providers.voices import voices_for

    variants = select_variants(blueprint, selection or None)
    for module in blueprint.modules:
        wire = module.wires.get("VoiceId")
        if module.kind != "narration" or wire is None or wire.source != InputRef("VoiceId"):
            continue
        variant = variants[module.name]
        voices = voices_for(variant.provider, variant.model)
        verdict = voices.verdict(voice) if voices is not None else None
        if verdict is not None and not verdict.accepted:
            raise InputValidationError(
                f"--voice: {verdict.message}",
                f"{verdict.hint} (module {module.name} runs {variant.provider}/{variant.model}; "
                f"--provider {module.name}=provider/model picks another)",
            )


def _local_speech_selection(
    blueprint: Blueprint, selection: dict[str, tuple[str, str]], values: dict[str, object]
) -> dict[str, tuple[str, str]]:
    """Narration modules left on their default ``local/espeak-ng`` switched to ``local/piper`` when Piper
    has a voice for the movie's language here; otherwise a one-line warning says how to get one."""
    from tutopanda.core.blueprint.expand import select_variants

    chosen: dict[str, tuple[str, str]] = {}
    for name, variant in select_variants(blueprint, selection or None).items():
        module = blueprint.module(name)
        if module is None or module.kind != "narration" or name in selection:
            continue
        if (variant.provider, variant.model) != ("local", "espeak-ng"):
            continue
        if not any((v.provider, v.model) == ("local", "piper") for v in module.variants):
            continue
        from tutopanda.providers.local.speech import choose_local_speech

        spec = blueprint.input("Language")
        language = str(values.get("Language") or (spec.default if spec else None) or "en")
        voice = str(values.get("VoiceId") or "default")
        choice = choose_local_speech(language, voice)
        if choice.model == "piper":
            chosen[name] = ("local", "piper")
        elif choice.warning:
            stderr_console().print(choice.warning, markup=False, highlight=False)
    return chosen


def _writer_selection(
    blueprint: Blueprint, selection: dict[str, tuple[str, str]], *, offline: bool
) -> tuple[WriterChoice | None, dict[str, tuple[str, str]]]:
    """The script writer of a new movie (issue 14): for the script, image-prompt and music-prompt modules
    no flag or setting chose, the best writer available here (providers/writers/choice.py). When the
    script's writer was selected and is a server or the in-process model, the unchosen prompt modules
    follow it (no choice is made then, and None is returned for it)."""
    import os

    from tutopanda.providers.writers.choice import WRITER_MODULE_KINDS, choose_writer, is_writer

    modules = [m for m in blueprint.modules if m.kind in WRITER_MODULE_KINDS and m.name not in selection]
    if not any(module.kind == "script" for module in modules):
        script = next((selection[m.name] for m in blueprint.modules if m.kind == "script"), None)
        if script is None or not is_writer(*script):
            return None, {}
        return None, {
            module.name: script
            for module in modules
            if any(v.provider == script[0] and fnmatchcase(script[1], v.model) for v in module.variants)
        }
    environ = {k: v for k, v in os.environ.items() if not (offline and k == "OPENAI_BASE_URL")}
    choice = choose_writer(None, environ)
    picked: dict[str, tuple[str, str]] = {}
    for module in modules:
        provider, model = choice.variant_for(module.kind)
        if any(v.provider == provider and fnmatchcase(model, v.model) for v in module.variants):
            picked[module.name] = (provider, model)
    return choice, picked


def _writer_configs(
    blueprint: Blueprint,
    selection: dict[str, tuple[str, str]],
    configs: dict[str, dict[str, Any]],
    choice: WriterChoice | None,
) -> dict[str, dict[str, Any]]:
    """Writer config recorded in the new movie (so in its traces): the chosen writer's, and for a module
    selected to run ``openai-compatible`` its ``baseUrl`` (config, else ``OPENAI_BASE_URL``, else
    Ollama's)."""
    import os

    from tutopanda.providers.writers.choice import COMPATIBLE_PROVIDER, compatible_config

    found: dict[str, dict[str, Any]] = {}
    for name, pair in selection.items():
        module = blueprint.module(name)
        if module is None:
            continue
        if choice is not None and pair == choice.variant_for(module.kind) and name not in configs:
            found[name] = choice.config_for(module.kind)
        if pair[0] == COMPATIBLE_PROVIDER:
            found[name] = compatible_config({**found.get(name, {}), **configs.get(name, {})}, os.environ)
    return {name: config for name, config in found.items() if config}


def _settings_values(blueprint: Blueprint, settings: Settings, given: dict[str, object]) -> dict[str, object]:
    """The settings' input values for a new movie: only inputs the blueprint has and no flag set."""
    values: dict[str, object] = {}
    for key, name in _SETTINGS_INPUTS.items():
        value = getattr(settings.general, key)
        if value is None or name in given or blueprint.input(name) is None:
            continue  # unset, overridden by a flag, or not an input of this blueprint (skipped silently)
        values[name] = value
    return values


def _settings_selection(blueprint: Blueprint, settings: Settings) -> dict[str, tuple[str, str]]:
    """The ``[[producers]]`` choices for a new movie's modules (entries for other modules are skipped)."""
    from tutopanda.settings import SettingsError

    selection: dict[str, tuple[str, str]] = {}
    for index, entry in enumerate(settings.producers, start=1):
        module = blueprint.module(entry.producer)
        if module is None:
            continue
        if not any(
            v.provider == entry.provider
            and (v.model == entry.model or ("*" in v.model and fnmatchcase(entry.model, v.model)))
            for v in module.variants
        ):
            offered = ", ".join(f"{v.provider}/{v.model}" for v in module.variants)
            raise SettingsError(
                f"producers[{index}]: blueprint {blueprint.meta.id} has no variant "
                f"{entry.provider}/{entry.model} for {entry.producer}",
                f"use one of {offered}, or delete the entry",
                file=settings.path,
            )
        selection[entry.producer] = (entry.provider, entry.model)
    return selection


def _settings_config(
    blueprint: Blueprint, settings: Settings, selection: dict[str, tuple[str, str]]
) -> dict[str, dict[str, Any]]:
    """``[[producers]]`` entries with a ``config`` file: that file's table for the module's job kind.

    Only for modules that run the entry's own provider/model (a ``--provider`` flag choosing another
    variant leaves that variant's config alone).

    Read and validated before anything is created (a missing file or a non-table value exits 2 naming
    the file and line); the values go into the new movie's providers.json and so into its traces.
    """
    from tutopanda.settings import load_provider_config

    configs: dict[str, dict[str, Any]] = {}
    for entry in settings.producers:
        module = blueprint.module(entry.producer)
        if module is None or not entry.config:
            continue
        if selection.get(entry.producer) != (entry.provider, entry.model):
            continue
        table = load_provider_config(settings.path.rpartition("/")[0], entry.config, module.producer.kind)
        if table:
            configs[entry.producer] = table
    return configs


def _online_modules(blueprint: Blueprint, selection: dict[str, tuple[str, str]]) -> list[str]:
    """Modules that would run on a provider needing the network (and, usually, money)."""
    from tutopanda.core.blueprint.expand import select_variants
    from tutopanda.providers.builtin import OFFLINE_PROVIDERS

    return [
        module
        for module, variant in select_variants(blueprint, selection).items()
        if variant.provider not in OFFLINE_PROVIDERS
    ]


def _offline_selection(
    blueprint: Blueprint, selection: dict[str, tuple[str, str]]
) -> dict[str, tuple[str, str]]:
    """``--providers local``: every module that would run online switched to its first offline variant."""
    from tutopanda.core.errors import UsageError
    from tutopanda.providers.builtin import OFFLINE_PROVIDERS

    switched: dict[str, tuple[str, str]] = {}
    for name in _online_modules(blueprint, selection):
        module = blueprint.module(name)
        offline = [v for v in module.producer.variants if v.provider in OFFLINE_PROVIDERS] if module else []
        if not offline:
            raise UsageError(
                f"--providers local: module {name} of blueprint {blueprint.meta.id} has no offline variant",
                "drop --providers local, or use a blueprint whose every module can run offline",
            )
        switched[name] = (offline[0].provider, offline[0].model)
    return switched


_SECONDS_PER_SEGMENT = {"offline": 8.0, "local-model": 15.0}
"""Rough wall-clock per segment on a 2-core laptop (issue 14 targets): the offline media, and the extra
time of the in-process 1.5B script writer. Only for the one-line estimate before a build."""


def _input_value(blueprint: Blueprint, values: dict[str, object], name: str) -> object:
    if name in values:
        return values[name]
    spec = blueprint.input(name)
    return spec.default if spec is not None and spec.has_default else None


def _script_variant(blueprint: Blueprint, selection: dict[str, tuple[str, str]]) -> tuple[str, str] | None:
    """``(provider, model)`` the movie's script module runs (None: the blueprint has none)."""
    from tutopanda.core.blueprint.expand import select_variants

    variants = select_variants(blueprint, selection or None)
    for module in blueprint.modules:
        if module.kind == "script":
            variant = variants[module.name]
            return variant.provider, variant.model
    return None


def _summary(
    blueprint: Blueprint,
    values: dict[str, object],
    selection: dict[str, tuple[str, str]],
    *,
    movie_id: str,
    existing: bool,
    own_script: bool,
    cost_note: str | None,
    writer_told: bool = False,
) -> str:
    """The short line before the progress bars: what will be made, by which writer, time and cost.

    ``movie volcanoes-3f9a1c (new): 3 segments, ~30 s, style illustration, en; script: your --script;
    about 20 s, free (offline)``. The full plan table is for ``--plan`` and for builds that cost money.
    ``writer_told``: the writer's own line was printed already (a new movie's choice), so it is not
    repeated here.
    """
    parts = []
    for name, shown in (("NumOfSegments", "{} segment{}"), ("Duration", "~{} s{}"), ("Style", "style {}{}")):
        value = _input_value(blueprint, values, name)
        if value is not None and not existing:
            plural = "s" if name == "NumOfSegments" and value != 1 else ""
            parts.append(shown.format(value, plural))
    language = _input_value(blueprint, values, "Language")
    if language and not existing:
        parts.append(str(language))
    head = f"movie {movie_id} ({'continued' if existing else 'new'})"
    if parts:
        head += ": " + ", ".join(parts)
    script = _script_variant(blueprint, selection)
    if own_script:
        writer = "your --script"
    elif script is None or existing:  # a continued movie keeps its script (maybe the user's own):
        writer = None  # naming the writer that would run for a new one would misname it
    elif script == ("local", "draft-script"):
        writer = "a marked draft (no script writer here)"
    else:
        writer = "/".join(script)
    tail = []
    if writer is not None and not writer_told:
        tail.append(f"script: {writer}")
    segments = _input_value(blueprint, values, "NumOfSegments")
    if cost_note is None and isinstance(segments, int) and not existing:
        per_segment = _SECONDS_PER_SEGMENT["offline"]
        in_process = script is not None and script[0] == "local" and script[1] in _LOCAL_WRITER_MODELS
        if in_process and not own_script:
            per_segment += _SECONDS_PER_SEGMENT["local-model"]
        tail.append(f"about {round(per_segment * segments + 5, -1):.0f} s, free (offline)")
    elif cost_note is not None:
        tail.append(cost_note)
    return head + ("; " + "; ".join(tail) if tail else "")


_LOCAL_WRITER_MODELS = ("qwen2.5-1.5b-instruct", "qwen2.5-0.5b-instruct")


def _real_script_hint(hints: tuple[str, ...] | None) -> str:
    """The closing line after a movie whose script is the marked draft: how to get a real one."""
    from tutopanda.providers.writers.choice import writer_hints

    return "for a real script, next time: " + "; or ".join(hints or writer_hints())


def _offer_local_model() -> None:
    """The first-use question: download the default local model now? Never a silent download.

    Asked only on a terminal (stdin is a TTY), only when the ``llm`` extra is installed and the model is
    not pulled, and once per models folder: a "no" is remembered (``.declined-<model>``), so the next
    query does not nag; ``tutopanda models pull`` stays the way to get it later. A failed download is a
    warning: the movie is still made, with the draft.
    """
    import importlib.util
    import sys

    from tutopanda.core.errors import TutopandaError

    try:
        if not sys.stdin.isatty() or importlib.util.find_spec("llama_cpp") is None:
            return
    except (ValueError, AttributeError, ImportError):
        return
    from tutopanda.cli.models_commands import pull_with_progress
    from tutopanda.providers.model_store import DEFAULT_LLM, default_model_store, human_size

    try:
        store = default_model_store()
        entry = store.catalogue.get(DEFAULT_LLM)
        if store.path_of(DEFAULT_LLM) is not None:
            return
    except TutopandaError:
        return
    declined = store.root / f".declined-{DEFAULT_LLM}"
    if declined.exists():
        return
    size = human_size(entry.size)
    question = (
        f"No script writer is set up here. Download {entry.name} ({size}, {entry.licence}) "
        "to write real scripts offline now?"
    )
    if not confirm(question, command="query"):
        store.note_declined(DEFAULT_LLM)  # never through a link planted at its name
        stderr_console().print(
            f"ok: a draft script this time ('tutopanda models pull {DEFAULT_LLM}' gets the model later)",
            markup=False,
            highlight=False,
        )
        return
    try:
        pull_with_progress(store, DEFAULT_LLM)
    except TutopandaError as exc:
        stderr_console().print(
            f"warning: {exc.message} — making the movie with a draft script", markup=False, highlight=False
        )


def _target(
    prompt: str | None, movie: str | None, last: bool = False, *, quiet: bool = False
) -> tuple[StorageContext, Settings, str, bool, MovieState]:
    """The store, its settings, the movie's id, whether it exists, and the state it is changed from.

    Without ``--movie``: ``--last`` continues the movie changed most recently; otherwise a movie asking
    the same question whose creation was interrupted is continued (the same command again finishes what
    it started), and one that exists is named with the command that continues it (a new movie is still
    made: asking again on purpose is allowed).
    """
    from tutopanda.cli.settings import note_defaults
    from tutopanda.core.engine.change import movie_state
    from tutopanda.core.errors import UsageError
    from tutopanda.core.store.movie_paths import is_defined
    from tutopanda.core.store.storage import StorageConfig, StorageContext, validate_movie_id
    from tutopanda.settings import load_settings

    ctx = StorageContext.open(StorageConfig(root=state.storage_root()))
    settings = load_settings(ctx)
    note_defaults(settings)
    if last and movie is not None:
        raise UsageError("--last and --movie both name the movie to continue", "give one of them")
    if prompt is None and movie is None and not last:
        raise UsageError(
            "give the question the movie answers",
            'tutopanda query "How do volcanoes erupt?" (or --last to continue the last movie)',
        )
    if last:
        from tutopanda.core.movie.lookup import last_movie

        movie = last_movie(ctx)
    elif movie is None and prompt is not None:
        movie = _same_question(ctx, prompt, quiet=quiet)
    movie_id = validate_movie_id(movie) if movie is not None else new_movie_id(prompt or "movie")
    baseline = movie_state(ctx, movie_id)  # what the change is checked against under the lock
    existing = is_defined(ctx, movie_id)  # an interrupted creation is continued as a new movie
    if prompt is None and not existing:
        raise UsageError(
            f"movie '{movie_id}' does not exist yet: give the question it answers",
            f'tutopanda query "How do volcanoes erupt?" --movie {movie_id}',
        )
    return ctx, settings, movie_id, existing, baseline


def _same_question(ctx: StorageContext, prompt: str, *, quiet: bool) -> str | None:
    """The movie to continue for ``prompt`` (one whose creation was interrupted), else None; a note on
    stderr names a finished movie asking the same question and how to continue it."""
    from tutopanda.core.movie.lookup import movies_asking

    matches = movies_asking(ctx, prompt)
    interrupted = [movie for movie in matches if movie.interrupted]
    console = stderr_console()
    if interrupted:
        movie_id = interrupted[0].movie_id
        if not quiet:
            console.print(f"continuing movie '{movie_id}': its creation was interrupted", markup=False)
        return movie_id
    if matches and not quiet:
        movie_id = matches[0].movie_id
        console.print(
            f"note: movie '{movie_id}' already answers this question; this makes a new one "
            f"(continue that one with: tutopanda query --movie {movie_id}, or --last)",
            markup=False,
            highlight=False,
        )
    return None


def _check_prompt(prompt: str) -> None:
    """Refuse an empty question, or one over the text limits, before anything is named after it."""
    from tutopanda.core.errors import UsageError
    from tutopanda.core.limits import check_text

    if not prompt or prompt.isspace():  # isspace, not strip: no copy of a 50 MB question
        raise UsageError("the question is empty", 'ask something: tutopanda query "How do volcanoes erupt?"')
    check_text("the question (input InquiryPrompt)", prompt)


def _read_script(script: Path, segments: int | None) -> ParsedScript:
    """``--script``: the user's Markdown, read with the document limits, checked against ``--segments``."""
    from tutopanda.core.errors import UsageError
    from tutopanda.core.limits import MAX_DOCUMENT_BYTES, check_file_size
    from tutopanda.providers.local.script_markdown import parse_script_markdown

    try:
        if script.exists() and not script.is_file():  # a folder, FIFO or device
            raise UsageError(f"--script {script} is not a file", "give the path of a Markdown file")
        check_file_size(f"--script {script}", script.stat().st_size, limit=MAX_DOCUMENT_BYTES)
        text = script.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read {script}: {exc.strerror or exc}", "check the --script path") from exc
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"--script {script} is not UTF-8 text (byte {exc.start + 1})", "save the file as UTF-8"
        ) from None
    parsed = parse_script_markdown(text, str(script))
    if segments is not None and segments != len(parsed.segments):
        raise UsageError(
            f"--segments {segments} but {script} has {len(parsed.segments)} sections",
            "drop --segments: with --script the sections set the number of segments",
        )
    return parsed


@dataclass
class _Choice:
    """What a query records: the values, the variant choices and their configs, and why (for printing).

    ``selection`` is what this query records; ``recorded`` is an existing movie's own selection, which
    together with it decides the variants that run.
    """

    blueprint: Blueprint
    blueprint_ref: str | None
    values: dict[str, object]
    selection: dict[str, tuple[str, str]]
    recorded: dict[str, tuple[str, str]] = field(default_factory=dict)
    configs: dict[str, dict[str, Any]] = field(default_factory=dict)
    writer: WriterChoice | None = None
    own_script: bool = False

    @property
    def variants(self) -> dict[str, tuple[str, str]]:
        return {**self.recorded, **self.selection}

    def change(
        self, movie_id: str, *, existing: bool, script: ParsedScript | None, based_on: MovieState
    ) -> Change:
        """The engine's :class:`Change`: create (or continue) the movie, define it, take the script."""
        from tutopanda.core.engine.change import Change, ScriptText

        return Change(
            f"tutopanda query --movie {movie_id}",
            create=not existing,
            define=True,
            blueprint=self.blueprint_ref,
            values=self.values,
            selection=self.selection,
            configs=self.configs,
            script=ScriptText(script.title, script.summary, script.segments) if script is not None else None,
            based_on=based_on,
        )

    def summary(self, movie_id: str, existing: bool, asked: _PaidQuestion) -> str:
        return _summary(
            self.blueprint,
            self.values,
            self.variants,
            movie_id=movie_id,
            existing=existing,
            own_script=self.own_script,
            cost_note=asked.cost_note,
            writer_told=self.writer is not None,
        )


def _choose(
    ctx: StorageContext,
    movie_id: str,
    *,
    existing: bool,
    blueprint: str | None,
    settings: Settings,
    prompt: str | None,
    flags: dict[str, Any],
    providers: str,
    provider: list[str],
    own_script: bool,
    as_json: bool,
    dry_run: bool,
) -> _Choice:
    """Flags, then (for a new movie) settings.toml, the local voice and the script writer: what to record.

    Everything is validated here, before anything is created: a bad flag or setting exits 2.
    """
    from tutopanda.core.blueprint import expand, load_blueprint, parse_model_options
    from tutopanda.core.errors import UsageError

    if existing:  # its own blueprint decides which flags apply (define_movie refuses another one)
        from tutopanda.core.movie.definition import load_movie

        loaded = load_movie(ctx, movie_id)
        choice = _Choice(loaded.blueprint, blueprint, {}, {}, loaded.definition.selection_pairs())
    else:
        choice = _Choice(load_blueprint(blueprint or ""), blueprint, {}, {})
    choice.own_script = own_script
    choice.values = _values(choice.blueprint, prompt, flags)
    chosen = parse_model_options(provider)  # flags: always applied, also to an existing movie
    choice.selection = dict(chosen)
    if not existing:  # settings fill in what no flag gave; an existing movie keeps its recorded values
        from_settings = _settings_values(choice.blueprint, settings, choice.values)
        choice.values.update(from_settings)
        choice.selection = {**_settings_selection(choice.blueprint, settings), **chosen}
        try:  # validate before creating anything
            expand(choice.blueprint, choice.values, choice.selection or None)
        except UsageError as exc:
            if not from_settings:
                raise
            names = ", ".join(sorted(from_settings))
            raise UsageError(
                exc.message, f"{exc.hint or 'fix the value'} ({names} came from {settings.path})"
            ) from exc
    if offline_only(providers):
        choice.selection.update(_offline_selection(choice.blueprint, choice.variants))
    if not existing:  # the best local voice here, recorded so the variant names the engine that speaks
        choice.selection.update(_local_speech_selection(choice.blueprint, choice.selection, choice.values))
        _choose_writer(choice, settings, providers=providers, as_json=as_json, dry_run=dry_run)
    if flags.get("voice") is not None:
        _check_voice(choice.blueprint, str(flags["voice"]), choice.variants)
    return choice


def _choose_writer(
    choice: _Choice, settings: Settings, *, providers: str, as_json: bool, dry_run: bool
) -> None:
    """A new movie's script writer (issue 14 §5) and the provider configs its variants take."""
    blueprint, offline, live = choice.blueprint, offline_only(providers), provider_mode(providers) == "live"
    if (  # offer the local model once, before the writer is chosen below (never silently)
        live
        and not offline
        and not choice.own_script
        and not (as_json or dry_run)
        and not any(m.kind == "script" and m.name in choice.selection for m in blueprint.modules)
        and not os.environ.get("OPENAI_BASE_URL")
    ):
        _offer_local_model()
    if live:  # the best script writer here, recorded so the traces name it
        choice.writer, written = _writer_selection(blueprint, choice.selection, offline=offline)
        choice.selection.update(written)
        if choice.writer is not None and not as_json and not choice.own_script:  # --script: no writer runs
            stdout_console().print(choice.writer.describe(), markup=False, highlight=False)
    if settings.from_file:  # after --providers local: config follows the final variant
        choice.configs = _settings_config(blueprint, settings, choice.selection)
    choice.configs.update(_writer_configs(blueprint, choice.selection, choice.configs, choice.writer))


@dataclass
class _PaidQuestion:
    """Before recording: ask when the build calls paid online providers (and remember what was shown).

    Mocks and offline providers cost nothing and are never asked about; ``--yes`` skips the question,
    and ``--json`` cannot ask (a usage error suggesting ``--yes``).
    """

    mode: Mode
    yes: bool
    as_json: bool
    movie_id: str
    existing: bool
    paid: list[str] = field(default_factory=list)
    cost_note: str | None = None
    plan_shown: bool = False

    def __call__(self, plan: Plan) -> bool:
        from tutopanda.core.errors import UsageError
        from tutopanda.providers.wiring import online_jobs

        self.paid = list(online_jobs(plan)) if self.mode == "live" else []
        self.cost_note = cost_text(plan) if self.paid else None
        if not self.paid or self.yes:
            return True
        paid = ", ".join(self.paid)
        if self.as_json:
            raise UsageError(
                f"this build calls online providers ({paid}) and --json cannot ask first",
                "add --yes to run it, or --dry-run to see the plan",
            )
        print_plan(plan)
        self.plan_shown = True
        count = sum(1 for planned in plan.jobs if planned.job.module in self.paid)
        if confirm(f"Run {count} job(s) with online providers ({paid}; {cost_text(plan)})?", command="query"):
            return True
        stdout_console().print(
            f"cancelled: movie '{self.movie_id}' was not {'changed' if self.existing else 'created'}",
            markup=False,
        )
        return False


def _dry_run(ctx: StorageContext, movie_id: str, change: Change, *, mode: Mode, as_json: bool) -> None:
    """``--dry-run``: the plan, computed on a throw-away copy; nothing is created or changed."""
    from tutopanda.cli.build_commands import resolver
    from tutopanda.core.engine.change import preview

    plan = preview(ctx, movie_id, change, resolver=resolver(mode), mode=mode)
    if as_json:
        print_json({"movie": movie_id, "dryRun": True, "plan": plan.to_dict()})
        return
    print_plan(plan)
    done = "created" if change.create else "changed"
    stdout_console().print(f"dry run: movie '{movie_id}' was not {done}", markup=False)


def _print_result(
    outcome: Outcome,
    movie_id: str,
    choice: _Choice,
    *,
    mode: Mode,
    as_json: bool,
    ctx: StorageContext | None = None,
    existing: bool = False,
) -> None:
    """Where the movie is (or, with ``--json``, the build's outcome), and how to get a real script."""
    report, published = outcome.report, outcome.published
    assert report is not None  # only a build that ran is printed
    if as_json:
        print_json(
            {
                "movie": movie_id,
                "revision": report.revision,
                "video": published.video if published else None,
                "subtitles": list(published.extras) if published else [],
                "calls": report.calls,
                "failed": [{"jobId": o.job_id, "error": o.error} for o in report.failed],
            }
        )
        return
    console = stdout_console()
    if report.plan.is_empty and report.revision is not None:  # an undo: earlier outputs, no job run
        from tutopanda.cli.build_commands import revision_line

        console.print(revision_line(report, ctx), markup=False, highlight=False)
    if published is not None:
        console.print(f"movie: {published.video}", markup=False, highlight=False)
        for extra in published.extras:
            console.print(f"subtitles: {extra}", markup=False, highlight=False)
    # The texts are changed through the files inspect writes, which only edit applies (build run refuses
    # pending file edits): point at that pair.
    console.print(
        f"movie id: {movie_id}  (to change it: tutopanda inspect --movie {movie_id}, edit the files, "
        f"then tutopanda edit --movie {movie_id})",
        markup=False,
        highlight=False,
    )
    from tutopanda.cli.build_commands import provisional_lines

    for line in provisional_lines(report):
        console.print(line, markup=False, highlight=False)
    draft = _script_variant(choice.blueprint, choice.variants) == ("local", "draft-script")
    # issue 14 §5: the one closing line, for a new movie only (a continued one keeps its script)
    if draft and not choice.own_script and not existing and mode == "live":
        hints = choice.writer.how_to_enable if choice.writer is not None else None
        console.print(_real_script_hint(hints), markup=False, highlight=False)


_PromptArg = Annotated[
    str | None, typer.Argument(help="The question the movie answers (optional with --script).")
]
_ScriptOpt = Annotated[
    Path | None,
    typer.Option(
        "--script", help="Your own narration: Markdown with '# Title' and one '## ...' section per segment."
    ),
]
_MovieOpt = Annotated[
    str | None,
    typer.Option("--movie", "-m", help="Movie id to create or continue (default: from the prompt)."),
]
_BlueprintOpt = Annotated[
    str | None,
    typer.Option(
        "--blueprint", "-b", help="Blueprint of a new movie (default image-audio).", show_default=False
    ),
]
_SegmentsOpt = Annotated[
    int | None, typer.Option("--segments", min=1, max=MAX_LOOP_COUNT, help="Number of segments.")
]
_DurationOpt = Annotated[
    int | None,
    typer.Option(
        "--duration", min=MIN_DURATION_SECONDS, max=MAX_DURATION_SECONDS, help="Total length in seconds."
    ),
]
_LastOpt = Annotated[
    bool, typer.Option("--last", help="Continue the movie changed most recently (instead of --movie ID).")
]
_StyleOpt = Annotated[
    str | None,
    typer.Option("--style", help=f"Visual style: {VOCABULARIES['style'].listing()}.", show_default=False),
]
_AudienceOpt = Annotated[
    str | None,
    typer.Option(
        "--audience", help=f"Who it is for: {VOCABULARIES['audience'].listing()}.", show_default=False
    ),
]
_VoiceOpt = Annotated[
    str | None,
    typer.Option(
        "--voice",
        help="Voice id of the narration's speech provider ('default' always works).",
        show_default=False,
    ),
]
_LanguageOpt = Annotated[
    str | None,
    typer.Option("--language", help="ISO 639-1 narration language (en, fr, de, ...).", show_default=False),
]
_ResolutionOpt = Annotated[
    str | None,
    typer.Option("--resolution", help=f"{VOCABULARIES['resolution'].listing()}.", show_default=False),
]
_SubtitlesOpt = Annotated[
    bool | None, typer.Option("--burn-subtitles/--soft-subtitles", help="Draw subtitles into the picture.")
]
_ProviderOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--provider",
        help="Run one producer with another variant: Module=provider/model (repeatable; "
        "see 'tutopanda blueprints describe'). Wins over settings.toml.",
        show_default=False,
    ),
]
_ConcurrencyOpt = Annotated[
    int | None,
    typer.Option(
        "--concurrency",
        "-c",
        min=1,
        max=256,
        help=CONCURRENCY_HELP,
        show_default=False,
    ),
]
_DryRunOpt = Annotated[
    bool,
    typer.Option("--dry-run", help="Show what would run and why (and its cost); create and change nothing."),
]
_YesOpt = Annotated[
    bool, typer.Option("--yes", "-y", help="Do not ask before running paid (online) providers.")
]
_PlanOpt = Annotated[
    bool,
    typer.Option(
        "--plan",
        help="Print the full plan (every job, why it runs, its cost) before building; shown anyway "
        "when the build costs money.",
    ),
]


def query(
    prompt: _PromptArg = None,
    script: _ScriptOpt = None,
    movie: _MovieOpt = None,
    last: _LastOpt = False,
    blueprint: _BlueprintOpt = None,
    segments: _SegmentsOpt = None,
    duration: _DurationOpt = None,
    style: _StyleOpt = None,
    audience: _AudienceOpt = None,
    voice: _VoiceOpt = None,
    language: _LanguageOpt = None,
    resolution: _ResolutionOpt = None,
    burn_subtitles: _SubtitlesOpt = None,
    providers: ModeOpt = "live",
    provider: _ProviderOpt = None,
    concurrency: _ConcurrencyOpt = None,
    dry_run: _DryRunOpt = False,
    yes: _YesOpt = False,
    plan_table: _PlanOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Make a narrated movie from a question (offline by default), and print where it is.

    Asks before a build that calls paid online providers (--yes skips the question).

    Examples: tutopanda query "How do volcanoes erupt?" --segments 4 --style watercolor;
    tutopanda query --movie how-do-volcanoes-erupt-3f9a1c --voice en-us --dry-run; tutopanda query --last
    """
    mode = provider_mode(providers)
    if prompt is not None:  # before the prompt is slugged, hashed or copied anywhere
        _check_prompt(prompt)
    parsed = _read_script(script, segments) if script is not None else None
    if parsed is not None:
        segments, prompt = len(parsed.segments), prompt or parsed.title
    ctx, settings, movie_id, existing, baseline = _target(prompt, movie, last, quiet=as_json)
    flags = dict(segments=segments, duration=duration, style=style, audience=audience, voice=voice)
    flags.update(language=language, resolution=resolution, burn_subtitles=burn_subtitles)
    choice = _choose(
        ctx,
        movie_id,
        existing=existing,
        blueprint=blueprint or (None if existing else settings.general.blueprint),
        settings=settings,
        prompt=prompt,
        flags=flags,
        providers=providers,
        provider=provider or [],
        own_script=parsed is not None,
        as_json=as_json,
        dry_run=dry_run,
    )
    change = choice.change(movie_id, existing=existing, script=parsed, based_on=baseline)
    if dry_run:
        _dry_run(ctx, movie_id, change, mode=mode, as_json=as_json)
        return
    asked = _PaidQuestion(mode=mode, yes=yes, as_json=as_json, movie_id=movie_id, existing=existing)

    def start(plan: Plan) -> None:  # after recording, under the lock: the summary line, the plan table
        if not as_json:
            stdout_console().print(choice.summary(movie_id, existing, asked), markup=False, highlight=False)
            if (plan_table or bool(asked.paid)) and not asked.plan_shown:  # the summary is enough offline
                print_plan(plan)

    outcome = execute_build(
        ctx,
        movie_id,
        change,
        mode=mode,
        concurrency=job_concurrency(concurrency, settings),
        as_json=as_json,
        offline=offline_only(providers),
        show_plan=False,
        confirm=asked,
        on_start=start,
    )
    if outcome.report is not None:
        _print_result(outcome, movie_id, choice, mode=mode, as_json=as_json, ctx=ctx, existing=existing)
        raise_for_outcome(outcome.report, movie_id)


def register(app: typer.Typer) -> None:
    """Add ``query`` to ``app``."""
    app.command("query")(query)
