"""The editable view of a movie: ``movie.toml`` and the plain-text files under ``prompts/``.

``tutopanda inspect`` writes everything a user may change — input values, the provider/model per module,
and every generated text a later step consumes (title, summary, each segment's narration, each image,
video and music prompt) — into one commented TOML document, and each of those texts also into its own
file (``prompts/segment-002/ImagePrompt-1.txt``). ``tutopanda edit`` (:mod:`tutopanda.core.movie.edit`)
reads them back.

Why texts are edited as *artefacts*: every text is its own artefact with its own hash, so editing one
segment's narration records one manual artefact and re-runs exactly the jobs that consume it — the
script job itself never re-runs, the other segments are untouched.

The document records where it came from (``[movie] revision`` and ``input-events``) so an edit is a
three-way comparison: a value counts as edited only if it differs from what was *exported*, and a value
that changed in the movie since the export is a conflict rather than a silent revert.

Prompt files are read and written only inside the movie's ``prompts/`` folder: a file or folder there
that is a symbolic link leading out of it is refused (reading it would turn any file the user can read
into a text sent to a provider; writing through it would overwrite a file elsewhere). Their size is
checked before they are read (:data:`~tutopanda.core.limits.MAX_TEXT_FILE_BYTES`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.items import AoT, Table

from tutopanda.core.blueprint import Blueprint, InputSpec, JobGraph
from tutopanda.core.blueprint.input_values import input_catalogue
from tutopanda.core.errors import UsageError
from tutopanda.core.limits import MAX_TEXT_FILE_BYTES, check_file_size, check_text
from tutopanda.core.movie.definition import LoadedMovie, load_movie
from tutopanda.core.store.blob_store import BlobStore
from tutopanda.core.store.event_log import input_log
from tutopanda.core.store.manifest import Manifest
from tutopanda.core.store.manifest_replay import latest_inputs
from tutopanda.core.store.manifest_store import ManifestStore
from tutopanda.core.store.movie_paths import ensure_initialised
from tutopanda.core.store.storage import StorageContext

__all__ = [
    "DOCUMENT_FILE",
    "EDITABLE_KINDS",
    "PROMPTS_DIR",
    "PROMPT_INDEX",
    "EditableText",
    "MovieSnapshot",
    "PromptFiles",
    "TextLayout",
    "document_data",
    "prompt_index",
    "providers_hash",
    "render_toml",
    "take_snapshot",
    "text_layout",
    "thaw",
    "write_prompt_files",
]

DOCUMENT_FILE = "movie.toml"
"""Default name of the exported document, in the movie's folder."""

PROMPTS_DIR = "prompts"

EDITABLE_KINDS = frozenset({"script", "image-prompt", "video-prompt", "music-prompt"})
"""Producer kinds whose text outputs a user edits (renderers' texts, such as subtitles, are derived)."""

_ARTEFACT = re.compile(r"^Artifact:(?P<module>[^.\[]+)\.(?P<name>[^\[]+)(?P<indices>(?:\[\d+\])*)$")
_INDEX = re.compile(r"\[(\d+)\]")


@dataclass(frozen=True)
class EditableText:
    """One editable text artefact and where it appears in the document and under ``prompts/``."""

    artefact_id: str
    producer_id: str
    key: str
    """Key in ``[texts]`` (no segment) or in a ``[[segments]]`` table."""
    segment: int | None
    """0-based segment index (the artefact's first index), None for movie-wide texts."""
    item: int | None
    """0-based position in the key's list, for ``[segment][item]`` artefacts (image prompts)."""
    prompt_file: str
    """Path relative to the movie folder."""

    @property
    def label(self) -> str:
        """Where a user sees it: ``texts.MovieTitle`` / ``segments[2].ImagePrompt[1]`` (1-based)."""
        where = "texts" if self.segment is None else f"segments[{self.segment + 1}]"
        item = "" if self.item is None else f"[{self.item + 1}]"
        return f"{where}.{self.key}{item}"


@dataclass(frozen=True)
class TextLayout:
    """Every editable text of a job graph, findable by artefact id and by document position."""

    texts: tuple[EditableText, ...]
    segments: int
    by_id: dict[str, EditableText] = field(init=False, repr=False, compare=False)
    by_place: dict[tuple[int | None, str, int | None], EditableText] = field(
        init=False, repr=False, compare=False
    )

    _keys: dict[bool, list[str]] = field(init=False, repr=False, compare=False)
    _lists: frozenset[str] = field(init=False, repr=False, compare=False)
    by_segment_key: dict[tuple[int | None, str], list[EditableText]] = field(
        init=False, repr=False, compare=False
    )
    """``(segment, key)`` -> its texts ordered by item: one pass here, so a document of a thousand
    segments is written in linear time (a scan of every text per segment and key was quadratic)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_id", {text.artefact_id: text for text in self.texts})
        object.__setattr__(
            self, "by_place", {(text.segment, text.key, text.item): text for text in self.texts}
        )
        keys: dict[bool, dict[str, None]] = {True: {}, False: {}}
        grouped: dict[tuple[int | None, str], list[EditableText]] = {}
        for text in self.texts:
            keys[text.segment is not None].setdefault(text.key, None)
            grouped.setdefault((text.segment, text.key), []).append(text)
        for members in grouped.values():
            members.sort(key=lambda text: text.item or 0)
        object.__setattr__(self, "_keys", {flag: list(found) for flag, found in keys.items()})
        object.__setattr__(
            self, "_lists", frozenset(text.key for text in self.texts if text.item is not None)
        )
        object.__setattr__(self, "by_segment_key", grouped)

    def keys(self, segment: bool) -> list[str]:
        """The keys used in ``[[segments]]`` tables (``segment=True``) or in ``[texts]``, in order."""
        return list(self._keys[segment])

    def is_list(self, key: str) -> bool:
        """True when ``key`` holds a list of texts per segment (``[segment][item]`` artefacts)."""
        return key in self._lists


def text_layout(graph: JobGraph) -> TextLayout:
    """The editable texts of ``graph``: text artefacts of :data:`EDITABLE_KINDS` with at most two indices."""
    found: list[tuple[str, str, str, str, tuple[int, ...]]] = []
    for job in graph.jobs:
        if job.kind not in EDITABLE_KINDS:
            continue
        for artefact in job.produces:
            match = _ARTEFACT.match(artefact.id)
            if artefact.kind != "text" or match is None:
                continue
            indices = tuple(int(index) for index in _INDEX.findall(match["indices"]))
            if len(indices) <= 2:
                found.append((artefact.id, job.id, match["module"], match["name"], indices))
    modules_per_name: dict[str, set[str]] = {}
    for _, _, module, name, _ in found:
        modules_per_name.setdefault(name, set()).add(module)
    texts = []
    for artefact_id, producer_id, module, name, indices in found:
        key = name if len(modules_per_name[name]) == 1 else f"{module}.{name}"
        segment = indices[0] if indices else None
        item = indices[1] if len(indices) == 2 else None
        if segment is None:
            path = f"{PROMPTS_DIR}/{key}.txt"
        else:
            suffix = "" if item is None else f"-{item + 1}"
            path = f"{PROMPTS_DIR}/segment-{segment + 1:03d}/{key}{suffix}.txt"
        texts.append(EditableText(artefact_id, producer_id, key, segment, item, path))
    segments = max((text.segment + 1 for text in texts if text.segment is not None), default=0)
    return TextLayout(tuple(texts), segments)


def thaw(value: Any) -> Any:
    """Resolved input values hold tuples; documents hold lists."""
    if isinstance(value, tuple | list):
        return [thaw(item) for item in value]
    if isinstance(value, Mapping):
        return {key: thaw(item) for key, item in value.items()}
    return value


@dataclass(frozen=True)
class MovieSnapshot:
    """Everything ``inspect`` exports, read from the movie's current state."""

    movie: LoadedMovie
    manifest: Manifest
    input_events: int
    """How many input events the log held when exported (the baseline of a later edit)."""
    inputs: dict[str, Any]
    """User-facing input name -> current value (absent when the input has no value)."""
    specs: dict[str, InputSpec]
    providers: dict[str, str]
    """Module -> ``provider/model`` currently used (selected, else the blueprint's first variant)."""
    choices: dict[str, list[str]]
    """Module -> every ``provider/model`` it offers."""
    layout: TextLayout
    texts: dict[str, str]
    """Artefact id -> current text, for the editable texts the current manifest holds."""

    @property
    def movie_id(self) -> str:
        return self.movie.movie_id


def _current_providers(blueprint: Blueprint, graph: JobGraph) -> tuple[dict[str, str], dict[str, list[str]]]:
    used: dict[str, str] = {}
    for job in graph.jobs:
        used.setdefault(job.module, f"{job.variant.provider}/{job.variant.model}")
    choices = {
        module.name: [f"{variant.provider}/{variant.model}" for variant in module.producer.variants]
        for module in blueprint.modules
    }
    return {name: used[name] for name in choices if name in used}, choices


def take_snapshot(ctx: StorageContext, movie_id: str, *, revision: str | None = None) -> MovieSnapshot:
    """The movie's editable state now (or, with ``revision``, its texts as of that manifest)."""
    movie = load_movie(ctx, movie_id)
    store = ManifestStore(ctx, movie_id)
    manifest = store.load_revision(revision) if revision else store.load_current()
    events = input_log(ctx, movie_id).read_all()
    values = movie.graph.inputs.values
    inputs: dict[str, Any] = {}
    specs: dict[str, InputSpec] = {}
    for name, (canonical, spec) in input_catalogue(movie.blueprint).items():
        specs[name] = spec
        if canonical in values:
            inputs[name] = thaw(values[canonical].value)
    providers, choices = _current_providers(movie.blueprint, movie.graph)
    layout = text_layout(movie.graph)
    blobs = BlobStore(ctx, movie_id)
    texts: dict[str, str] = {}
    for text in layout.texts:
        entry = manifest.artefacts.get(text.artefact_id)
        if entry is not None:
            texts[text.artefact_id] = blobs.get_bytes(entry.blob).decode("utf-8", errors="replace")
    return MovieSnapshot(movie, manifest, len(events), inputs, specs, providers, choices, layout, texts)


def inputs_at(ctx: StorageContext, movie_id: str, count: int) -> dict[str, Any]:
    """Input values (by canonical id) as they were after the first ``count`` input events."""
    latest = latest_inputs(islice(input_log(ctx, movie_id), count))
    return {key: event.payload for key, event in latest.items()}


# -- the document ------------------------------------------------------------------------------------


def _segment_values(snapshot: MovieSnapshot, segment: int) -> dict[str, Any]:
    """``key -> text`` (or list of texts) of one segment; keys whose texts are not all built are left out."""
    values: dict[str, Any] = {}
    layout = snapshot.layout
    for key in layout.keys(segment=True):
        if layout.is_list(key):
            items = layout.by_segment_key.get((segment, key), [])
            if items and all(text.artefact_id in snapshot.texts for text in items):
                values[key] = [snapshot.texts[text.artefact_id] for text in items]
        else:
            text = layout.by_place.get((segment, key, None))
            if text is not None and text.artefact_id in snapshot.texts:
                values[key] = snapshot.texts[text.artefact_id]
    return values


def providers_hash(providers: Mapping[str, str]) -> str:
    """A short hash of the module -> provider/model choices (the ``[providers]`` baseline of an export)."""
    from tutopanda.core.store.hashing import hash_value

    return hash_value(dict(sorted(providers.items()))).hash[:16]


def document_data(snapshot: MovieSnapshot) -> dict[str, Any]:
    """The document as plain data (the ``--format json`` form, and what :func:`render_toml` writes)."""
    layout = snapshot.layout
    return {
        "movie": {
            "id": snapshot.movie_id,
            "blueprint": snapshot.movie.definition.blueprint,
            "revision": snapshot.manifest.revision,
            "input-events": snapshot.input_events,
            "providers-hash": providers_hash(snapshot.providers),
        },
        "inputs": dict(snapshot.inputs),
        "providers": dict(snapshot.providers),
        "texts": {
            text.key: snapshot.texts[text.artefact_id]
            for text in layout.texts
            if text.segment is None and text.artefact_id in snapshot.texts
        },
        "segments": [_segment_values(snapshot, segment) for segment in range(layout.segments)],
    }


def _text_item(value: str) -> Any:
    return tomlkit.string(value, multiline=True) if "\n" in value else tomlkit.string(value)


def _value_item(value: Any) -> Any:
    if isinstance(value, str):
        return _text_item(value)
    if isinstance(value, list) and value and all(isinstance(item, str) for item in value):
        array = tomlkit.array()
        array.multiline(len(value) > 1 or any(len(item) > 60 for item in value))
        for item in value:
            array.append(_text_item(item))
        return array
    return tomlkit.item(value)


def _spec_comment(spec: InputSpec) -> str:
    parts = [spec.description.rstrip(".")] if spec.description else []
    if spec.values:
        parts.append("one of: " + ", ".join(spec.values))
    if spec.minimum is not None or spec.maximum is not None:
        low = "" if spec.minimum is None else spec.minimum
        high = "" if spec.maximum is None else spec.maximum
        parts.append(f"{spec.type} {low}..{high}")
    elif not spec.values:
        parts.append(spec.type)
    return "; ".join(parts)


def _header(snapshot: MovieSnapshot, source: str) -> list[str]:
    movie = snapshot.movie_id
    return [
        f"Tutopanda movie '{movie}': everything you can change.",
        f"Edit any value below (or a file under {PROMPTS_DIR}/), save, then run:",
        f"    tutopanda edit --movie {movie}{source}",
        "You see the plan (what re-runs and why) and confirm before anything runs; only what your",
        "edits touch is rebuilt. Comments and layout you add here are kept when the file is updated.",
    ]


def render_toml(snapshot: MovieSnapshot, *, file_option: str = "") -> str:
    """The commented TOML document for ``snapshot`` (``file_option``: e.g. `` --file my.toml``)."""
    data = document_data(snapshot)
    doc = tomlkit.document()
    for line in _header(snapshot, file_option):
        doc.add(tomlkit.comment(line))
    doc.add(tomlkit.nl())

    movie = tomlkit.table()
    movie.add(tomlkit.comment("Where this file came from: do not edit (edit compares against it)."))
    for key, value in data["movie"].items():
        movie.add(key, value)
    doc.add("movie", movie)

    inputs = tomlkit.table()
    inputs.add(tomlkit.comment("Input values. A change re-runs what consumes that input."))
    for name, value in data["inputs"].items():
        comment = _spec_comment(snapshot.specs[name])
        if comment:
            inputs.add(tomlkit.nl())
            inputs.add(tomlkit.comment(comment))
        inputs.add(name, _value_item(value))
    doc.add("inputs", inputs)

    providers = tomlkit.table()
    providers.add(
        tomlkit.comment("provider/model per module. A change re-runs that module and what follows.")
    )
    for module, choice in data["providers"].items():
        offered = snapshot.choices.get(module, [])
        if len(offered) > 1:
            providers.add(tomlkit.comment(f"{module}: " + ", ".join(offered)))
        providers.add(module, choice)
    doc.add("providers", providers)

    if data["texts"]:
        texts = tomlkit.table()
        texts.add(tomlkit.comment("Movie-wide texts, also in " + f"{PROMPTS_DIR}/<name>.txt."))
        for key, value in data["texts"].items():
            texts.add(key, _value_item(value))
        doc.add("texts", texts)

    if data["segments"]:
        doc.add(tomlkit.nl())
        doc.add(tomlkit.comment("One [[segments]] table per segment, in order: edit texts, never add or"))
        doc.add(tomlkit.comment("remove tables (change inputs.NumOfSegments for that)."))
        segments = tomlkit.aot()
        for index, values in enumerate(data["segments"]):
            table = tomlkit.table()
            table.add(
                tomlkit.comment(f"Segment {index + 1} (also in {PROMPTS_DIR}/segment-{index + 1:03d}/)")
            )
            for key, value in values.items():
                table.add(key, _value_item(value))
            segments.append(table)
        doc.add("segments", segments)
    return tomlkit.dumps(doc)


def update_toml(text: str, snapshot: MovieSnapshot) -> str:
    """``text`` (a document the user may have edited) with every value set to ``snapshot``'s.

    Values that already match are not touched, so comments, blank lines and formatting survive
    byte-for-byte outside the values that changed. If the number of segments changed, the
    ``[[segments]]`` tables are written anew.
    """
    doc = tomlkit.parse(text)
    data = document_data(snapshot)
    for section in ("movie", "inputs", "providers", "texts"):
        values: Mapping[str, Any] = data[section]
        if not values and section not in doc:
            continue
        table = doc.get(section)
        if not isinstance(table, Table):
            table = tomlkit.table()
            doc[section] = table
        for key, value in values.items():
            if table.get(key) != value:
                table[key] = _value_item(value)
    segments = data["segments"]
    current = doc.get("segments")
    if isinstance(current, AoT) and len(current) == len(segments):
        for table, values in zip(current, segments, strict=True):
            for key, value in values.items():
                if table.get(key) != value:
                    table[key] = _value_item(value)
    elif segments:
        rebuilt = tomlkit.aot()
        for index, values in enumerate(segments):
            table = tomlkit.table()
            table.add(tomlkit.comment(f"Segment {index + 1}"))
            for key, value in values.items():
                table.add(key, _value_item(value))
            rebuilt.append(table)
        doc["segments"] = rebuilt
    return tomlkit.dumps(doc)


# -- prompt files ------------------------------------------------------------------------------------


def _inside_prompts(
    ctx: StorageContext, movie_root: str, path: str, relative: str, real_folder: str | None = None
) -> str:
    """``path`` if it stays inside the movie's ``prompts/`` folder once symbolic links are followed.

    Neither ``prompts/`` itself nor anything below it may lead out (only local stores have links; the
    backend answers for the others). ``real_folder``: the folder's real path, found (and checked not to
    be a link) earlier in the same command — a folder swapped for a link since then makes ``path``
    resolve elsewhere, so the file is still refused.
    """
    folder = ctx.join(movie_root, PROMPTS_DIR)
    if real_folder is None:  # "" (refused below) when the folder itself is a link
        real_folder = "" if ctx.backend.is_link(folder) else ctx.backend.real_path(folder)
    real = _real_below(ctx, folder, real_folder, path)
    if not real_folder or not (real == real_folder or real.startswith(real_folder.rstrip("/") + "/")):
        prompts, resolved = Path(movie_root).resolve() / PROMPTS_DIR, Path(path).resolve()
        raise UsageError(
            f"{relative} leads out of the movie's {PROMPTS_DIR}/ folder (a symbolic link to {resolved})",
            f"Tutopanda reads and writes prompt files only inside {prompts}: delete the link "
            "(then 'tutopanda inspect' writes a regular file), or copy the text into a regular file",
        )
    return path


def _real_below(ctx: StorageContext, folder: str, real_folder: str, path: str) -> str:
    """``path``'s real path, knowing ``folder``'s: when no part of it below ``folder`` is a link, that
    is ``real_folder`` plus the rest, found with a ``lstat`` per part instead of a ``realpath`` walking
    every folder from ``/`` (2,000 prompt files: most of an edit's system calls). Else the full walk."""
    prefix = folder.rstrip("/") + "/"
    rest = path[len(prefix) :] if path.startswith(prefix) else ""
    parts = rest.split("/")
    if not real_folder or not rest or any(part in ("", ".", "..") for part in parts):
        return ctx.backend.real_path(path)
    current = folder
    for part in parts:
        current = ctx.join(current, part)
        if ctx.backend.is_link(current):
            return ctx.backend.real_path(path)
    return real_folder.rstrip("/") + "/" + rest


class PromptFiles:
    """One movie's prompt files, for the many reads and writes of one command.

    The movie is found and the folder's real path resolved once (on a 1,000-segment movie, 2,000 files
    each doing both again made reading them the slowest step of an edit and of ``build run``'s check
    for unapplied edits); each file is still resolved and checked not to lead out of ``prompts/``.
    """

    def __init__(self, ctx: StorageContext, movie_id: str) -> None:
        self._ctx = ctx
        self._root = ensure_initialised(ctx, movie_id).root
        self._real_folder: str | None = None

    def path(self, relative: str) -> str:
        """The checked path of the prompt file ``relative`` (to the movie folder)."""
        ctx, root = self._ctx, self._root
        path = ctx.join(root, *relative.split("/"))
        if self._real_folder is None:  # resolved once: "" when the folder itself is a link (refused)
            folder = ctx.join(root, PROMPTS_DIR)
            self._real_folder = "" if ctx.backend.is_link(folder) else ctx.backend.real_path(folder)
        return _inside_prompts(ctx, root, path, relative, self._real_folder)

    def read(self, text: EditableText) -> str | None:
        """The text of ``text``'s prompt file (one trailing newline dropped), or None if there is none."""
        return _read_prompt(self._ctx, self.path(text.prompt_file), text)


def _read_prompt(ctx: StorageContext, path: str, text: EditableText) -> str | None:
    if ctx.backend.is_special(path):  # a folder, FIFO or device
        raise UsageError(
            f"{text.prompt_file} is not a regular file", "delete it, then run 'tutopanda inspect'"
        )
    try:
        check_file_size(text.prompt_file, ctx.size(path), limit=MAX_TEXT_FILE_BYTES, error=UsageError)
        data = ctx.read_bytes(path)
    except FileNotFoundError:
        return None
    try:
        content = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"{text.prompt_file} is not UTF-8 text (byte {exc.start + 1})",
            "save the file as UTF-8 (most editors: 'Save with encoding')",
        ) from None
    check_text(text.prompt_file, content, error=UsageError)
    if content.endswith("\r\n"):
        return content[:-2]
    return content.removesuffix("\n")


PROMPT_INDEX = "index.json"
"""``prompts/index.json``: the hash of the text each prompt file held when Tutopanda last wrote it."""


def _index_path(ctx: StorageContext, movie_id: str) -> str:
    root = ensure_initialised(ctx, movie_id).root
    relative = f"{PROMPTS_DIR}/{PROMPT_INDEX}"
    return _inside_prompts(ctx, root, ctx.join(root, PROMPTS_DIR, PROMPT_INDEX), relative)


def prompt_index(ctx: StorageContext, movie_id: str) -> dict[str, str]:
    """Prompt file (relative to the movie folder) -> hash of the text written into it; {} if none.

    Builds do not rewrite prompt files, so after a rebuild a file may hold an older text: only a file
    whose text differs from what was *written* into it is a user's edit.
    """
    try:
        data = json.loads(ctx.read_bytes(_index_path(ctx, movie_id)))
    except (FileNotFoundError, ValueError, RecursionError):
        return {}
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, dict):
        return {}
    return {str(key): str(value) for key, value in files.items()}


def write_prompt_files(
    ctx: StorageContext, movie_id: str, snapshot: MovieSnapshot, *, force: bool = False
) -> list[str]:
    """Write each current text to its prompt file (with a trailing newline); return the files changed.

    Files whose text is unchanged are not rewritten, so their modification times say what changed.
    ``prompts/index.json`` records what each file now holds (see :func:`prompt_index`). ``force``
    also overwrites files that cannot be read as UTF-8.
    """
    from tutopanda.core.store.atomic_file import write_atomic
    from tutopanda.core.store.hashing import sha256_hex
    from tutopanda.core.store.json_file import pretty_json_bytes

    written: list[str] = []
    index = prompt_index(ctx, movie_id)
    files = PromptFiles(ctx, movie_id)
    for text in snapshot.layout.texts:
        value = snapshot.texts.get(text.artefact_id)
        if value is None:
            continue
        index[text.prompt_file] = sha256_hex(value.encode())
        try:
            unchanged = files.read(text) == value
        except UsageError:
            if not force:
                raise
            unchanged = False
        if unchanged:
            continue
        path = files.path(text.prompt_file)
        ctx.makedirs(path.rsplit("/", 1)[0])
        write_atomic(ctx, path, (value + "\n").encode("utf-8"))
        written.append(text.prompt_file)
    ctx.makedirs(ctx.join(ensure_initialised(ctx, movie_id).root, PROMPTS_DIR))
    write_atomic(ctx, _index_path(ctx, movie_id), pretty_json_bytes({"files": dict(sorted(index.items()))}))
    return written
