"""Progress for ``tutopanda build run``: a line per layer and per finished job, plus a Rich bar on a TTY.

Each finished job prints one line (status, job id, elapsed seconds, error), so the log of a long build
stays readable after it ends; on a terminal a transient bar shows overall progress and elapsed time,
and long jobs that report progress (renders) get a bar of their own while they run.

Big builds (more than :data:`PER_JOB_LINES_UP_TO` jobs) print at a bounded rate instead: a failed or
blocked job still gets its own line at once (it is what a person must act on), the others are counted
and summed up in one line at most every :data:`SUMMARY_EVERY` seconds and once at the end. Thousands
of console lines cost a second of CPU on a 4,000-job build and bury the failures.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from tutopanda.cli.output import stdout_console

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from tutopanda.core.engine.runner import JobOutcome

__all__ = ["BuildProgress"]

_STYLE = {"succeeded": "green", "cached": "cyan", "failed": "red", "blocked": "yellow"}

PER_JOB_LINES_UP_TO = 200
"""Builds with at most this many jobs print one line per finished job."""
SUMMARY_EVERY = 2.0
"""Seconds between two summary lines of a big build."""


class BuildProgress:
    """A :class:`~tutopanda.core.engine.runner.ProgressSink` for the CLI; ``start`` once the plan is known."""

    def __init__(self, *, animated: bool) -> None:
        self._animated = animated
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._started: dict[str, float] = {}
        self._job_tasks: dict[str, TaskID] = {}
        self._lock = threading.Lock()
        self._quiet = False
        """A big build: finished jobs are counted, not printed one by one (failures still are)."""
        self._counts: dict[str, int] = {}
        self._total = 0
        self._last_summary = 0.0

    def start(self, total_jobs: int) -> None:
        """Show the bar (on a terminal) for ``total_jobs`` jobs."""
        self._total = total_jobs
        self._quiet = total_jobs > PER_JOB_LINES_UP_TO
        self._last_summary = time.monotonic()
        if not self._animated or total_jobs == 0:
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=stdout_console(),
            transient=True,
        )
        self._task = self._progress.add_task("building", total=total_jobs)
        self._progress.start()

    def stop(self) -> None:
        """Remove the bar (the per-job lines stay) and, on a big build, print the last summary."""
        if self._quiet and self._counts:
            self._summary()
            self._counts.clear()
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def layer_started(self, index: int, jobs: int) -> None:
        stdout_console().print(f"[bold]layer {index}[/bold]: {jobs} job{'s' if jobs != 1 else ''}")
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, description=f"layer {index}")

    def job_started(self, job_id: str) -> None:
        self._started[job_id] = time.monotonic()

    def job_progress(self, job_id: str, fraction: float) -> None:
        """A bar per long job (renders), shown while it runs; called from worker threads."""
        if self._progress is None:
            return
        with self._lock:
            task = self._job_tasks.get(job_id)
            if task is None:
                task = self._progress.add_task(f"  {job_id}", total=1.0)
                self._job_tasks[job_id] = task
        self._progress.update(task, completed=fraction)

    def job_finished(self, outcome: JobOutcome) -> None:
        from rich.markup import escape

        with self._lock:
            task = self._job_tasks.pop(outcome.job_id, None)
        if task is not None and self._progress is not None:
            self._progress.remove_task(task)
        started = self._started.pop(outcome.job_id, None)
        elapsed = f" ({time.monotonic() - started:.2f}s)" if started is not None else ""
        if self._progress is not None and self._task is not None:
            self._progress.advance(self._task)
        if self._quiet:
            self._counts[outcome.status] = self._counts.get(outcome.status, 0) + 1
            if outcome.status not in ("failed", "blocked"):
                now = time.monotonic()
                if now - self._last_summary >= SUMMARY_EVERY:
                    self._summary()
                return
        style = _STYLE.get(outcome.status, "white")
        line = f"  [{style}]{outcome.status:>9}[/{style}] {escape(outcome.job_id)}{elapsed}"
        if outcome.error:
            line += f" [red]{escape(outcome.error)}[/red]"
        stdout_console().print(line, highlight=False)

    def _summary(self) -> None:
        """One line: how many jobs have finished so far, by status."""
        self._last_summary = time.monotonic()
        done = sum(self._counts.values())
        parts = ", ".join(
            f"[{_STYLE.get(status, 'white')}]{count} {status}[/]"
            for status, count in sorted(self._counts.items())
        )
        stdout_console().print(f"  {done}/{self._total} jobs finished: {parts}", highlight=False)
