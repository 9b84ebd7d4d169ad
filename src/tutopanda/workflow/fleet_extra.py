"""The ``fleet`` extra: what durable builds need beyond the offline movie, and the error when it is absent.

Why an extra: DBOS brings SQLAlchemy, a PostgreSQL driver and their dependencies, which nobody making a
movie on one machine uses. The base install stays small (it is the first command in the README) and
``pip install 'tutopanda[fleet]'`` adds them. Without it, every durable entry point — ``tutopanda
worker``, ``build run --executor dbos``, the durable part of ``build status`` — stops with one error
naming the extra, instead of a ``ModuleNotFoundError`` traceback.
"""

from __future__ import annotations

from tutopanda.core.errors import UsageError

__all__ = ["FLEET_INSTALL", "fleet_extra_missing"]

FLEET_INSTALL = "pip install 'tutopanda[fleet]' (in a source checkout: pip install -e '.[fleet]')"


def fleet_extra_missing(module: str) -> UsageError:
    """The error for a durable command run without the ``fleet`` extra (``module`` could not be imported)."""
    return UsageError(
        f"durable builds (tutopanda worker, build run --executor dbos) need the 'fleet' extra: "
        f"{module} is not installed",
        FLEET_INSTALL,
    )
