"""The one-time offer to download the default local model, before a new movie's script writer is
chosen (issue 14 §5).

Why a module of its own: the first-use offer is the one place ``query`` may download anything, only
after a yes. The writer itself is chosen from what this machine has (an API key, a local server, the
in-process model, else the marked draft) in :mod:`tutopanda.movie_choice`, shared with the MCP
server, which never asks.
"""

from __future__ import annotations

from tutopanda.cli.output import confirm, stderr_console

__all__ = ["offer_local_model"]


def offer_local_model() -> None:
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
