"""Driving ``tutopanda build`` from acceptance tests: in-process and subprocess runs, call logs, the store.

:class:`MovieCli` runs the real CLI against one storage root, either in this process (``main(argv)``,
fast) or as a subprocess of the installed console script (needed for mock knobs, which a handler reads
from ``TUTOPANDA_MOCK_OPTIONS`` when it is built, and for signals). Every mock call of either kind is
appended to a JSON Lines call log (``TUTOPANDA_MOCK_CALL_LOG``), which is how tests count provider calls.

:class:`JobGraph` (from ``blueprints expand``) is the oracle for which jobs an edit must re-run. The other
functions read the on-disk store the way a user or a recovery tool would: which jobs have a succeeded
event for every output (``events/artefacts.log``, torn last line ignored), whether ``current.json`` names
a complete manifest, and a digest of a whole movie directory.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tutopanda.cli.main import main
from tutopanda.providers.mock.counter import MOCK_CALL_LOG_ENV, read_call_log
from tutopanda.providers.plugins import default_registry

SCRIPT = "Producer:Script.ScriptWriter"
TIMELINE = "Producer:Timeline.TimelineComposer"
EXPORT = "Producer:Export.VideoExporter"


def narrator(segment: int) -> str:
    return f"Producer:Narration.Narrator[{segment}]"


def prompt_writer(segment: int) -> str:
    return f"Producer:ImagePrompts.ImagePromptWriter[{segment}]"


def illustrator(segment: int, image: int = 0) -> str:
    return f"Producer:Images.Illustrator[{segment}][{image}]"


def tutopanda_command() -> list[str]:
    """The installed console script (the way a user runs it)."""
    script = Path(sys.executable).with_name("tutopanda")
    if script.exists():
        return [str(script)]
    found = shutil.which("tutopanda")
    return [found] if found else [sys.executable, "-m", "tutopanda"]


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


class MovieCli:
    """The CLI bound to one storage root and one mock call log.

    In-process runs read the call log path from the environment at call time, so the caller must have
    set ``TUTOPANDA_MOCK_CALL_LOG`` (the test fixtures do, with ``monkeypatch``); subprocess runs get it
    in their environment explicitly.
    """

    def __init__(self, root: Path, call_log: Path) -> None:
        self.root = root
        self.call_log = call_log

    # -- running -------------------------------------------------------------------------------

    def run(self, *args: str) -> CliResult:
        """``tutopanda --root ROOT ARGS`` in this process (no mock knobs: see the module docstring)."""
        assert os.environ.get(MOCK_CALL_LOG_ENV) == str(self.call_log), "set the call log env first"
        assert "TUTOPANDA_MOCK_OPTIONS" not in os.environ, "mock knobs need a subprocess"
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["--root", str(self.root), *args])
        return CliResult(code, out.getvalue(), err.getvalue())

    def ok(self, *args: str) -> CliResult:
        """:meth:`run` and insist on exit code 0."""
        result = self.run(*args)
        assert result.code == 0, f"tutopanda {' '.join(args)} exited {result.code}: {result.stderr}"
        return result

    def env(
        self, mock_options: Mapping[str, Any] | None = None, call_log: Path | None = None
    ) -> dict[str, str]:
        env = {**os.environ, MOCK_CALL_LOG_ENV: str(call_log or self.call_log)}
        env.pop("TUTOPANDA_DEBUG", None)
        env.pop("TUTOPANDA_MOCK_OPTIONS", None)
        if mock_options is not None:
            env["TUTOPANDA_MOCK_OPTIONS"] = json.dumps(mock_options)
        return env

    def spawn(
        self, *args: str, mock_options: Mapping[str, Any] | None = None, call_log: Path | None = None
    ) -> subprocess.Popen[str]:
        """Start ``tutopanda --root ROOT ARGS`` as a subprocess (stdout/stderr piped)."""
        return subprocess.Popen(
            [*tutopanda_command(), "--root", str(self.root), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=self.env(mock_options, call_log),
        )

    def process(self, *args: str, mock_options: Mapping[str, Any] | None = None) -> CliResult:
        """Run ``tutopanda --root ROOT ARGS`` as a subprocess to completion."""
        completed = subprocess.run(
            [*tutopanda_command(), "--root", str(self.root), *args],
            capture_output=True,
            text=True,
            env=self.env(mock_options),
            timeout=120,
            check=False,
        )
        return CliResult(completed.returncode, completed.stdout, completed.stderr)

    # -- provider calls ------------------------------------------------------------------------

    def calls(self) -> list[dict[str, Any]]:
        return read_call_log(self.call_log)

    def reset_calls(self) -> None:
        self.call_log.unlink(missing_ok=True)

    # -- the movie on disk ---------------------------------------------------------------------

    def movie_dir(self, movie: str) -> Path:
        return self.root / "builds" / movie

    def manifest(self, movie: str, revision: str | None = None) -> dict[str, Any]:
        args = ["manifest:show", "--movie", movie, "--json"]
        if revision:
            args += ["--revision", revision]
        manifest: dict[str, Any] = self.ok(*args).json()
        return manifest

    def manifests(self, movie: str) -> list[str]:
        return sorted(path.name for path in (self.movie_dir(movie) / "manifests").glob("*.json"))


class JobGraph:
    """A blueprint's expanded job graph (``tutopanda blueprints expand --json``): the test's oracle for
    which jobs an edit must dirty, so the tests state the rule ("exactly what consumes the edit, directly
    or not") rather than a list that goes stale when the blueprint grows."""

    def __init__(self, expanded: Mapping[str, Any]) -> None:
        self.jobs: dict[str, dict[str, Any]] = {job["id"]: job for job in expanded["jobs"]}
        self.upstream: dict[str, set[str]] = {job_id: set() for job_id in self.jobs}
        for source, target in expanded["edges"]:
            self.upstream[target].add(source)

    @classmethod
    def expand(cls, cli: MovieCli, blueprint: str, *assignments: str) -> JobGraph:
        args = [arg for assignment in assignments for arg in ("--set", assignment)]
        return cls(cli.ok("blueprints", "expand", blueprint, *args).json())

    @property
    def ids(self) -> set[str]:
        return set(self.jobs)

    def outputs(self, job_ids: Iterable[str]) -> set[str]:
        return {artefact["id"] for job_id in job_ids for artefact in self.jobs[job_id]["produces"]}

    def artefact_kinds(self, job_ids: Iterable[str] | None = None) -> Counter[str]:
        chosen = self.jobs if job_ids is None else job_ids
        return Counter(artefact["kind"] for job_id in chosen for artefact in self.jobs[job_id]["produces"])

    def downstream(self, changed: Iterable[str]) -> set[str]:
        """Jobs that consume any of ``changed`` (input or artefact ids), directly or transitively."""
        dirty: set[str] = set()
        frontier = set(changed)
        while frontier:
            consumers = {
                job_id
                for job_id, job in self.jobs.items()
                if job_id not in dirty and frontier & set(job["inputs"])
            }
            dirty |= consumers
            frontier = self.outputs(consumers)
        return dirty

    def layers(self) -> dict[str, int]:
        """Longest-path depth of every job (sources are 0)."""
        depth: dict[str, int] = {}

        def visit(job_id: str) -> int:
            if job_id not in depth:
                depth[job_id] = 1 + max((visit(up) for up in self.upstream[job_id]), default=-1)
            return depth[job_id]

        for job_id in self.jobs:
            visit(job_id)
        return depth

    def producer_counts(self) -> Counter[str]:
        return Counter(f"{job['module']}.{job['producer']}" for job in self.jobs.values())


def define_image_audio(cli: MovieCli, movie: str, segments: int) -> None:
    cli.ok(
        "storage:init", "--movie", movie, "--blueprint", "image-audio", "--set", f"NumOfSegments={segments}"
    )


def wait_for_calls(call_log: Path, count: int, process: subprocess.Popen[str], timeout: float = 60.0) -> bool:
    """Wait until ``call_log`` has ``count`` lines; False if ``process`` exited first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if call_lines(call_log) >= count:
            return True
        if process.poll() is not None:
            return call_lines(call_log) >= count
        time.sleep(0.002)
    raise AssertionError(f"{call_log} did not reach {count} calls in {timeout}s")


def call_lines(call_log: Path) -> int:
    try:
        return call_log.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def artefact_events(log: bytes) -> list[dict[str, Any]]:
    """The complete, readable events of an artefact log (a torn last line and unreadable lines skipped)."""
    events: list[dict[str, Any]] = []
    for line in log.split(b"\n")[:-1]:  # the part after the last newline is torn (or empty)
        with contextlib.suppress(ValueError):
            event = json.loads(line)
            if isinstance(event, dict):
                events.append(event)
    return events


def completed_jobs(events: Iterable[Mapping[str, Any]], produces: Mapping[str, Iterable[str]]) -> set[str]:
    """Jobs with a succeeded event (among ``events``) for every artefact they produce."""
    succeeded = {
        (event.get("producedBy"), event.get("artefactId"))
        for event in events
        if event.get("status") == "succeeded"
    }
    return {
        job
        for job, artefacts in produces.items()
        if all((job, artefact) in succeeded for artefact in artefacts)
    }


def plan_produces(plan: Mapping[str, Any]) -> dict[str, list[str]]:
    """``{job id: artefact ids}`` of every job in a ``build plan --json`` document."""
    return {job["jobId"]: list(job["produces"]) for layer in plan["layers"] for job in layer["jobs"]}


def check_current_pointer(movie_dir: Path) -> str | None:
    """Assert ``current.json`` names a complete manifest: its bytes hash to the pointer's hash, and every
    artefact it lists has its blob, whole (the blob's bytes hash to the artefact's hash)."""
    pointer = json.loads((movie_dir / "current.json").read_bytes())
    if pointer["revision"] is None:
        return None
    data = (movie_dir / pointer["manifestPath"]).read_bytes()
    assert hashlib.sha256(data).hexdigest() == pointer["hash"], "current.json and its manifest disagree"
    manifest = json.loads(data)
    assert manifest["revision"] == pointer["revision"]
    for artefact_id, entry in manifest["artefacts"].items():
        digest = entry["hash"]
        blobs = list((movie_dir / "blobs" / digest[:2]).glob(f"{digest}.*"))
        assert blobs, f"{artefact_id}: blob {digest} is missing"
        for blob in blobs:
            assert hashlib.sha256(blob.read_bytes()).hexdigest() == digest, f"{blob} is not whole"
    revision: str = pointer["revision"]
    return revision


def tree_digest(directory: Path) -> dict[str, str]:
    """``{relative path: sha256 of bytes}`` of every file, plus every directory (value ``dir``)."""
    digest: dict[str, str] = {}
    for path in sorted(directory.rglob("*")):
        relative = path.relative_to(directory).as_posix()
        if path.is_dir():
            digest[relative + "/"] = "dir"
        else:
            digest[relative] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digest


def clear_handler_cache() -> None:
    """Forget handlers built by earlier in-process runs (a mock reads its knobs when it is built)."""
    default_registry().clear_cache()
