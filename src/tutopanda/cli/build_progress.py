"""Progress for ``tutopanda build run``: a line per layer and per finished job, plus a Rich bar on a TTY.

Each finished job prints one line (status, job id, elapsed seconds, error), so the log of a long build
stays readable after it ends; on a terminal a transient bar shows overall progress and elapsed time,
and long jobs that report progress (renders) get a bar of their own while they run.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from tutopanda.cli.output import stdout_console

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from tutopanda.core.runner import JobOutcome

__all__ = ["BuildProgress"]

_STYLE = {"succeeded": "green", "cached": "cyan", "failed": "red", "blocked": "yellow"}


class BuildProgress:
    """A :class:`~tutopanda.core.runner.ProgressSink` for the CLI; ``start`` once the plan is known."""

    def __init__(self, *, animated: bool) -> None:
        self._animated = animated
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._started: dict[str, float] = {}
        self._job_tasks: dict[str, TaskID] = {}
        self._lock = threading.Lock()

    def start(self, total_jobs: int) -> None:
        """Show the bar (on a terminal) for ``total_jobs`` jobs."""
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
        """Remove the bar (the per-job lines stay)."""
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
        style = _STYLE.get(outcome.status, "white")
        line = f"  [{style}]{outcome.status:>9}[/{style}] {escape(outcome.job_id)}{elapsed}"
        if outcome.error:
            line += f" [red]{escape(outcome.error)}[/red]"
        stdout_console().print(line, highlight=False)
        if self._progress is not None and self._task is not None:
            self._progress.advance(self._task)
