"""Reading a user's edits back: ``movie.toml``, the ``prompts/`` files and ``--replace`` files.

:func:`collect_edits` compares the document and each prompt file with the state they were exported
from (three-way, see :mod:`tutopanda.core.movie.document`) and returns an :class:`EditSet`;
:func:`apply_edits` records it — input values as input events edited by the user, provider choices in
``providers.json``, texts and replacement files as manual artefacts — after validating all of it, so a
bad value never leaves half an edit behind. Nothing here runs a build: the caller plans, asks, builds.

Each text (and each prompt file) is hashed on its own, so the planner sees exactly which artefact
changed and re-runs only that artefact's consumers.
"""

from __future__ import annotations

import json
import math
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.exceptions import TOMLKitError

from tutopanda.core.blueprint import expand
from tutopanda.core.blueprint.input_values import input_catalogue
from tutopanda.core.blueprint.suggest import closest
from tutopanda.core.errors import UsageError
from tutopanda.core.limits import MAX_DOCUMENT_BYTES, MAX_TEXT_FILE_BYTES, check_file_size, check_text
from tutopanda.core.movie.definition import define_movie
from tutopanda.core.movie.document import (
    MovieSnapshot,
    PromptFiles,
    inputs_at,
    prompt_index,
    providers_hash,
    thaw,
)
from tutopanda.core.movie.event_import import append_artefact_records
from tutopanda.core.store.hashing import hash_value, sha256_hex
from tutopanda.core.store.manifest_store import ManifestStore
from tutopanda.core.store.media_type import ARTEFACT_KIND_TYPES, fits_kind, media_type_of_file
from tutopanda.core.store.storage import StorageContext

__all__ = [
    "EditSet",
    "Replacement",
    "TextEdit",
    "apply_edits",
    "collect_edits",
    "parse_document",
    "parse_replacements",
    "pending_edits",
]

_SECTIONS = ("movie", "inputs", "providers", "texts", "segments")


@dataclass(frozen=True)
class TextEdit:
    """A new text for one artefact, and where the user wrote it."""

    artefact_id: str
    producer_id: str
    text: str
    source: str


@dataclass(frozen=True)
class Replacement:
    """A user's file standing in for one generated artefact."""

    artefact_id: str
    producer_id: str
    path: Path
    media_type: str


@dataclass
class EditSet:
    """Everything one ``edit`` changes."""

    inputs: dict[str, Any] = field(default_factory=dict)
    """User-facing input name -> new value."""
    selection: dict[str, tuple[str, str]] = field(default_factory=dict)
    texts: list[TextEdit] = field(default_factory=list)
    replacements: list[Replacement] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not (self.inputs or self.selection or self.texts or self.replacements)

    def describe(self) -> list[dict[str, str]]:
        """One ``{what, id, change}`` row per edit, for tables and ``--json``."""
        rows = [{"what": "input", "id": name, "change": _short(value)} for name, value in self.inputs.items()]
        rows += [
            {"what": "provider", "id": module, "change": f"{provider}/{model}"}
            for module, (provider, model) in self.selection.items()
        ]
        rows += [{"what": "text", "id": edit.artefact_id, "change": edit.source} for edit in self.texts]
        rows += [
            {"what": "file", "id": item.artefact_id, "change": f"{item.path} ({item.media_type})"}
            for item in self.replacements
        ]
        return rows


def _short(value: Any, limit: int = 60) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _read_toml(text: str) -> dict[str, Any]:
    """The TOML document ``text`` as plain values, each string exactly as written.

    ``tomllib`` is several times faster (a 1,000-segment ``movie.toml`` took tomlkit over a second),
    but it turns a CRLF inside a multi-line string into LF — and a text holding CRLF (a prompt file
    saved on Windows) is exported that way, so it would read back as an edit nobody made. A document
    with any CR is read by ``tomlkit``, which keeps strings byte for byte.
    """
    if "\r" in text:
        parsed: dict[str, Any] = tomlkit.parse(text).unwrap()
        return parsed
    return tomllib.loads(text)


def parse_document(data: bytes, source: str) -> dict[str, Any]:
    """The document in ``data``: TOML, or JSON when ``source`` ends in ``.json``.

    Only plain values come out (text, numbers, booleans, lists, tables): a TOML date or time, or a
    JSON ``NaN``, is refused here with the key that holds it, since no input can take one.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{source}: not UTF-8 text ({exc.reason})", "save the file as UTF-8") from None
    if source.endswith(".json"):
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError as exc:
            raise UsageError(
                f"{source}:{exc.lineno}: invalid JSON: {exc.msg}", "fix the syntax at that line"
            ) from None
        except (ValueError, RecursionError) as exc:  # too many digits, nesting too deep
            raise UsageError(
                f"{source}: invalid JSON: {exc if isinstance(exc, ValueError) else 'it nests too deeply'}",
                "export a fresh copy with 'tutopanda inspect'",
            ) from None
    else:
        try:
            parsed = _read_toml(text)
        except (tomllib.TOMLDecodeError, TOMLKitError) as exc:
            raise UsageError(f"{source}: invalid TOML: {exc}", "fix the syntax at that line") from None
        except (ValueError, RecursionError) as exc:
            raise UsageError(
                f"{source}: invalid TOML: {exc if isinstance(exc, ValueError) else 'it nests too deeply'}",
                "export a fresh copy with 'tutopanda inspect'",
            ) from None
    if not isinstance(parsed, dict):
        raise UsageError(
            f"{source}: expected a table of sections", "export a fresh one with 'tutopanda inspect'"
        )
    _check_plain(parsed, source, "")
    return parsed


def _check_plain(value: Any, source: str, where: str) -> None:
    """Refuse anything but JSON-like data (dates, times, NaN, infinity) at the key path ``where``."""
    if isinstance(value, dict):
        for key, item in value.items():
            _check_plain(item, source, f"{where}.{key}" if where else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_plain(item, source, f"{where}[{index}]")
    elif isinstance(value, float) and not math.isfinite(value):
        raise UsageError(
            f"{source}: {where} is {value}, not a number a movie can use", "write a finite number"
        )
    elif value is not None and not isinstance(value, str | int | float | bool):
        raise UsageError(
            f"{source}: {where} is a TOML {type(value).__name__}, which no input takes",
            'quote it to make it text: key = "..."',
        )


def _table(document: Mapping[str, Any], key: str, source: str) -> dict[str, Any]:
    value = document.get(key, {})
    if not isinstance(value, dict):
        raise UsageError(
            f"{source}: [{key}] must be a table", f"write it as [{key}] followed by name = value lines"
        )
    return value


def _unknown_key(source: str, where: str, key: str, known: Sequence[str]) -> UsageError:
    best = closest(key, known)
    hint = f"did you mean '{best}'?" if best else f"known: {', '.join(known) or '(none)'}"
    return UsageError(f"{source}: {where} has no {key!r}", hint)


def _conflict(source: str, where: str, base: str, current: str) -> UsageError:
    return UsageError(
        f"{source}: {where} changed in the movie since this file was exported ({base} -> {current})",
        "export a fresh copy with 'tutopanda inspect' and make your edit again",
    )


def _same(left: Any, right: Any) -> bool:
    return hash_value(thaw(left)).hash == hash_value(thaw(right)).hash


def _input_edits(
    snapshot: MovieSnapshot,
    document: Mapping[str, Any],
    base_inputs: Mapping[str, Any],
    source: str,
    base: str,
) -> dict[str, Any]:
    catalogue = input_catalogue(snapshot.movie.blueprint)
    current = snapshot.movie.graph.inputs.values
    edits: dict[str, Any] = {}
    for name, value in _table(document, "inputs", source).items():
        if name not in catalogue:
            raise _unknown_key(source, "[inputs]", name, list(catalogue))
        canonical = catalogue[name][0]
        now = current[canonical].value if canonical in current else None
        before = base_inputs.get(canonical, now)
        if _same(value, before) or _same(value, now):
            continue
        if not _same(before, now):
            raise _conflict(source, f"inputs.{name}", base, snapshot.manifest.revision)
        edits[name] = value
    return edits


def _selection_edits(
    snapshot: MovieSnapshot, document: Mapping[str, Any], source: str, exported: str | None
) -> dict[str, tuple[str, str]]:
    """Changed ``[providers]`` entries. ``exported``: the export's ``providers-hash``; when the movie's
    choices changed since, a value that differs from the movie's is ambiguous (the user's edit or a stale
    line?), so it is refused rather than silently reverting the newer choice."""
    edits: dict[str, tuple[str, str]] = {}
    for module, value in _table(document, "providers", source).items():
        if module not in snapshot.choices:
            raise _unknown_key(source, "[providers]", module, list(snapshot.choices))
        offered = snapshot.choices[module]
        if not isinstance(value, str) or value not in offered:
            best = closest(str(value), offered)
            raise UsageError(
                f"{source}: providers.{module} = {value!r} is not a variant of {module}",
                (f"did you mean '{best}'? " if best else "") + f"choices: {', '.join(offered)}",
            )
        if value != snapshot.providers.get(module):
            if exported is not None and exported != providers_hash(snapshot.providers):
                raise _conflict(source, f"providers.{module}", "the export", snapshot.manifest.revision)
            provider, _, model = value.partition("/")
            edits[module] = (provider, model)
    return edits


def _document_texts(snapshot: MovieSnapshot, document: Mapping[str, Any], source: str) -> dict[str, str]:
    """Artefact id -> text as written in the document's ``[texts]`` and ``[[segments]]``."""
    layout = snapshot.layout
    found: dict[str, str] = {}

    def take(segment: int | None, key: str, value: Any, where: str) -> None:
        if layout.is_list(key):
            if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
                raise UsageError(
                    f"{source}: {where} must be a list of texts", f'write {key} = ["...", "..."]'
                )
            for item, text in enumerate(value):
                entry = layout.by_place.get((segment, key, item))
                if entry is None:
                    raise UsageError(
                        f"{source}: {where} has {len(value)} texts, more than the movie has",
                        "edit the texts in place; change the count through [inputs]",
                    )
                found[entry.artefact_id] = check_text(
                    f"{source}: {where}[{item + 1}]", text, error=UsageError
                )
            return
        entry = layout.by_place.get((segment, key, None))
        if entry is None:  # pragma: no cover - keys are checked against the layout first
            raise _unknown_key(source, where, key, [])
        if not isinstance(value, str):
            raise UsageError(f"{source}: {where} must be a text", f'write {key} = "..."')
        found[entry.artefact_id] = check_text(f"{source}: {where}", value, error=UsageError)

    global_keys = layout.keys(segment=False)
    for key, value in _table(document, "texts", source).items():
        if key not in global_keys:
            raise _unknown_key(source, "[texts]", key, global_keys)
        take(None, key, value, f"texts.{key}")
    segments = document.get("segments", [])
    if not isinstance(segments, list) or not all(isinstance(item, dict) for item in segments):
        raise UsageError(
            f"{source}: segments must be [[segments]] tables", "export a fresh copy with 'tutopanda inspect'"
        )
    if segments and len(segments) != layout.segments:
        raise UsageError(
            f"{source}: {len(segments)} [[segments]] tables, but the movie has {layout.segments} segments",
            "never add or remove [[segments]] tables: change inputs.NumOfSegments instead",
        )
    segment_keys = layout.keys(segment=True)
    for index, table in enumerate(segments):
        for key, value in table.items():
            if key not in segment_keys:
                raise _unknown_key(source, f"segments[{index + 1}]", key, segment_keys)
            take(index, key, value, f"segments[{index + 1}].{key}")
    return found


def collect_edits(
    ctx: StorageContext,
    movie_id: str,
    snapshot: MovieSnapshot,
    document: Mapping[str, Any] | None,
    source: str,
) -> EditSet:
    """What the user changed in ``document`` (may be None) and in the movie's prompt files."""
    edits = EditSet()
    base_manifest = snapshot.manifest
    base = snapshot.manifest.revision
    document_texts: dict[str, str] = {}
    if document is not None:
        for section in document:
            if section not in _SECTIONS:
                raise _unknown_key(source, "the file", section, list(_SECTIONS))
        movie = _table(document, "movie", source)
        if movie.get("id", movie_id) != movie_id:
            raise UsageError(
                f"{source} is the export of movie '{movie.get('id')}', not '{movie_id}'",
                f"run 'tutopanda edit --movie {movie.get('id')} --file {source}'",
            )
        base = str(movie.get("revision", base))
        count = movie.get("input-events")
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise UsageError(
                f"{source}: movie.input-events is missing or not a count",
                "export a fresh copy with 'tutopanda inspect' (the [movie] table must not be edited)",
            )
        base_manifest = ManifestStore(ctx, movie_id).load_revision(base)
        edits.inputs = _input_edits(snapshot, document, inputs_at(ctx, movie_id, count), source, base)
        exported = movie.get("providers-hash")
        edits.selection = _selection_edits(
            snapshot, document, source, exported if isinstance(exported, str) else None
        )
        document_texts = _document_texts(snapshot, document, source)

    current = snapshot.manifest.artefacts
    written_at = prompt_index(ctx, movie_id)
    files = PromptFiles(ctx, movie_id)
    for text in snapshot.layout.texts:
        now = current.get(text.artefact_id)
        now_hash = now.hash if now is not None else None
        before = base_manifest.artefacts.get(text.artefact_id, now)
        base_hash = before.hash if before is not None else None
        # (where, text, the hash it had when exported): the document's baseline is its revision, a
        # prompt file's is what inspect/edit last wrote into it (files are not rewritten by builds).
        candidates: list[tuple[str, str, str | None]] = []
        written = document_texts.get(text.artefact_id)
        if written is not None:
            candidates.append((f"{source} {text.label}", written, base_hash))
        from_file = files.read(text)
        if from_file is not None:
            candidates.append((text.prompt_file, from_file, written_at.get(text.prompt_file, base_hash)))
        changed = [item for item in candidates if sha256_hex(item[1].encode()) != item[2]]
        if not changed:
            continue
        if len({value for _, value, _ in changed}) > 1:
            raise UsageError(
                f"{text.artefact_id} was edited differently in {' and '.join(w for w, _, _ in changed)}",
                "make the edit in one place only (or the same text in both)",
            )
        where, value, _ = changed[0]
        if not value.strip():
            raise UsageError(
                f"{where}: the text of {text.artefact_id} is empty",
                "write the text you want (an empty narration or prompt cannot be built from); "
                "'tutopanda inspect' restores the current one",
            )
        if sha256_hex(value.encode()) == now_hash:
            continue
        if any(baseline != now_hash for _, _, baseline in changed):
            raise _conflict(where, text.label, base, snapshot.manifest.revision)
        edits.texts.append(TextEdit(text.artefact_id, text.producer_id, value, where))
    return edits


def parse_replacements(snapshot: MovieSnapshot, options: Sequence[str]) -> list[Replacement]:
    """``ARTEFACT_ID=PATH`` options -> replacements (the file exists, its bytes fit the artefact kind)."""
    graph = snapshot.movie.graph
    known = [artefact.id for job in graph.jobs for artefact in job.produces]
    replacements = []
    for option in options:
        name, sep, raw_path = option.partition("=")
        if not sep or not name.strip() or not raw_path.strip():
            raise UsageError(
                f"--replace {option!r} is not ARTEFACT_ID=PATH",
                "e.g. --replace 'Images.SegmentImage[0][0]=my-photo.png'",
            )
        artefact_id = name.strip()
        if not artefact_id.startswith("Artifact:"):
            artefact_id = "Artifact:" + artefact_id
        job = graph.producer_of(artefact_id)
        if job is None:
            best = closest(artefact_id, known)
            raise UsageError(
                f"--replace: movie '{snapshot.movie_id}' has no artefact {artefact_id}",
                f"did you mean '{best}'?" if best else "list them with 'tutopanda manifest:show'",
            )
        path = Path(raw_path.strip()).expanduser()
        try:
            is_file = path.is_file()
        except OSError:  # a name too long for the file system, ...
            is_file = False
        if not is_file:
            raise UsageError(
                f"--replace: {path} is not a file", "give the path of your image, audio, video or text file"
            )
        kind = next(artefact.kind for artefact in job.produces if artefact.id == artefact_id)
        try:
            if kind == "text":  # a text stands in for a narration or prompt: the text limits apply
                where = f"--replace {path}"
                check_file_size(where, path.stat().st_size, limit=MAX_TEXT_FILE_BYTES, error=UsageError)
                check_text(where, path.read_bytes().decode("utf-8", errors="replace"), error=UsageError)
            media_type = media_type_of_file(path)
        except OSError as exc:
            raise UsageError(
                f"--replace: cannot read {path}: {exc.strerror or exc}", "check the file's permissions"
            ) from None
        if kind == "text" and media_type == "application/json":
            media_type = "text/plain"
        allowed = ARTEFACT_KIND_TYPES.get(kind, ())
        if not fits_kind(media_type, kind):
            raise UsageError(
                f"--replace: {path} holds {media_type}, but {artefact_id} is {kind}",
                f"give a file of type {' or '.join(prefix.rstrip('/') for prefix in allowed)}"
                + (" (an MP4 holding only audio works too)" if kind == "audio" else ""),
            )
        replacements.append(Replacement(artefact_id, job.id, path.resolve(), media_type))
    return replacements


def apply_edits(ctx: StorageContext, snapshot: MovieSnapshot, edits: EditSet, *, source: str) -> None:
    """Record ``edits`` in the movie: validated as a whole first, then texts/files, then inputs/providers."""
    movie = snapshot.movie
    if edits.inputs or edits.selection:
        catalogue = input_catalogue(movie.blueprint)
        merged: dict[str, object] = {key: event.payload for key, event in movie.inputs.items()}
        merged.update({catalogue[name][0]: value for name, value in edits.inputs.items()})
        selection = {**movie.definition.selection_pairs(), **edits.selection}
        try:
            expand(movie.blueprint, merged, selection or None, movie.definition.config or None)
        except UsageError as exc:
            raise UsageError(f"{source}: {exc.message}", exc.hint) from exc
    records: list[dict[str, Any]] = [
        {
            "artefactId": edit.artefact_id,
            "producedBy": edit.producer_id,
            "payload": edit.text,
            "mimeType": "text/plain",
        }
        for edit in edits.texts
    ]
    records += [
        {
            "artefactId": item.artefact_id,
            "producedBy": item.producer_id,
            "path": str(item.path),
            "mimeType": item.media_type,
        }
        for item in edits.replacements
    ]
    if records:
        append_artefact_records(
            ctx, movie.movie_id, records, base_dir=Path.cwd(), source=source, graph=movie.graph
        )
    if edits.inputs or edits.selection:
        define_movie(
            ctx, movie.movie_id, blueprint=None, values=edits.inputs, selection=edits.selection or None
        )


def pending_edits(ctx: StorageContext, movie_id: str) -> EditSet:
    """Edits in the movie's own ``movie.toml`` and ``prompts/`` files that were never applied.

    Why: a build records nothing from those files (only ``edit`` does, showing the plan first), so a
    command about to build checks here that it would not silently build without the user's changes.
    """
    from tutopanda.core.movie.document import DOCUMENT_FILE, take_snapshot
    from tutopanda.core.store.movie_paths import ensure_initialised

    path = ctx.join(ensure_initialised(ctx, movie_id).root, DOCUMENT_FILE)
    try:
        check_file_size(DOCUMENT_FILE, ctx.size(path), limit=MAX_DOCUMENT_BYTES, error=UsageError)
        document: dict[str, Any] | None = parse_document(ctx.read_bytes(path), DOCUMENT_FILE)
        source = DOCUMENT_FILE
    except FileNotFoundError:
        document, source = None, "prompts/"
    return collect_edits(ctx, movie_id, take_snapshot(ctx, movie_id), document, source)
