"""The one exception tree of Tutopanda.

Every error a user can see derives from :class:`TutopandaError`, which carries a ``message`` (what went
wrong, naming the file/field) and a ``hint`` (what to do about it). The CLI maps the tree to exit codes
with :attr:`TutopandaError.exit_code`: usage and validation errors exit 2, failures exit 1. Foreign
exceptions are converted at the boundary where they occur (``raise ... from exc``), so callers never
have to know which library failed.

The tree, with each class's exit code and, for classes defined outside this module, where they live
(``tests/core/test_errors.py`` renders it from the classes and fails when this drawing disagrees; run
that file as a script to print it)::

    TutopandaError (1)                                              base: message + hint
    ├── UsageError (2)                                              a bad argument, id, path or value
    │   ├── BlueprintError (2)                                      a blueprint file is invalid (file:line)
    │   ├── InputValidationError (2)                                an input value does not fit its type
    │   ├── MovieNotInitialisedError (2)                            the movie's storage does not exist yet
    │   ├── ProviderConfigError (2)                                 bad provider config, model or secret
    │   ├── UnknownModelError (2) [providers.model_store]           no such model in the catalogue
    │   ├── SettingsError (2) [settings]                            settings.toml is invalid (file:line)
    │   └── NotFoundError (2) [viewer.data]                         no such movie/revision/file (HTTP 404)
    ├── StorageError (1)                                            the store could not be read or written
    │   ├── ManifestConflictError (1)                               current.json moved under us (CAS lost)
    │   ├── CorruptDataError (1)                                    stored data fails its hash or schema
    │   ├── BlobNotFoundError (1)                                   a blob a manifest or event names is gone
    │   └── LockHeldError (1)                                       another process holds the movie's lock
    ├── ProviderError (1)                                           a provider call failed (see retryable)
    │   ├── RateLimitedError (1)                                    asked to slow down (retry_after)
    │   ├── ProviderTimeoutError (1)                                no answer within the deadline
    │   ├── ProviderAccountError (1)                                key/credit/quota refused: the run stops
    │   ├── WriterUnavailableError (1) [providers.writers.backend]  a script writer cannot run here
    │   └── AnswerInvalidError (1) [providers.writers.validation]   a writer's answer is unusable
    ├── BuildFailedError (1)                                        jobs failed; their paid-for outputs kept
    ├── ModelStoreError (1) [providers.model_store]                 a model download/verify/remove failed
    │   └── ChecksumMismatchError (1) [providers.model_store]       downloaded bytes fail their SHA-256
    └── StoreTimeoutError (1) [viewer.app]                          a store read hung (HTTP 503)
"""

from __future__ import annotations

__all__ = [
    "BlobNotFoundError",
    "BlueprintError",
    "BuildFailedError",
    "CorruptDataError",
    "InputValidationError",
    "LockHeldError",
    "ManifestConflictError",
    "MovieNotInitialisedError",
    "ProviderAccountError",
    "ProviderConfigError",
    "ProviderError",
    "ProviderTimeoutError",
    "RateLimitedError",
    "StorageError",
    "TutopandaError",
    "UsageError",
]


class TutopandaError(Exception):
    """Base of every error Tutopanda raises on purpose.

    ``message`` is one line saying what is wrong (naming the file, field or id); ``hint`` is one line
    saying how to fix it, or ``None`` when there is nothing useful to add.
    """

    exit_code: int = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UsageError(TutopandaError):
    """The user asked for something invalid: a bad argument, id, path or value."""

    exit_code = 2


class BlueprintError(UsageError):
    """A blueprint (or one of its module files) is invalid.

    ``file`` and ``line`` locate the problem when known; they are folded into the message so the one
    line the CLI prints is enough to find it: ``blueprint.yaml:12: connection 'X' ...``.
    """

    def __init__(
        self, message: str, hint: str | None = None, *, file: str | None = None, line: int | None = None
    ) -> None:
        self.file = file
        self.line = line
        location = ""
        if file is not None:
            location = f"{file}:{line}: " if line is not None else f"{file}: "
        super().__init__(location + message, hint)
        self.detail = message


class InputValidationError(UsageError):
    """An input value does not match the type, range or choices its blueprint declares."""


class MovieNotInitialisedError(UsageError):
    """A command needs a movie whose storage has not been created yet."""


class StorageError(TutopandaError):
    """The store could not be read or written (I/O failure, full disk, bad permissions)."""


class ManifestConflictError(StorageError):
    """Another writer advanced ``current.json`` since we read it (compare-and-swap lost)."""


class CorruptDataError(StorageError):
    """Stored data does not parse or does not match its recorded hash."""


class BlobNotFoundError(StorageError):
    """A blob named by a manifest or event is missing from the blob store."""


class LockHeldError(StorageError):
    """Another process holds the lock on this movie."""


class ProviderError(TutopandaError):
    """A provider call failed. ``retryable`` tells the runner whether another attempt may succeed.

    Handlers raise this (or a subclass) for failures of the *whole job*; a failure of one artefact of a
    multi-artefact job is reported in the job result instead.
    """

    def __init__(
        self,
        message: str,
        hint: str | None = None,
        *,
        retryable: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, hint)
        self.retryable = retryable
        self.retry_after = retry_after


class RateLimitedError(ProviderError):
    """The provider refused the call for now (HTTP 429 and friends); always retryable."""

    def __init__(self, message: str, hint: str | None = None, *, retry_after: float | None = None) -> None:
        super().__init__(message, hint, retryable=True, retry_after=retry_after)


class ProviderTimeoutError(ProviderError):
    """The provider did not answer within the deadline; retryable."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message, hint, retryable=True)


class ProviderAccountError(ProviderError):
    """The provider refused the account (bad key, no credit, quota exhausted: HTTP 401/402/403).

    No further call can succeed until the user acts, so the runner stops the whole run: calls in
    flight finish and are kept, no new job starts, and the message names the provider and the fix.
    """

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message, hint, retryable=False)


class ProviderConfigError(UsageError):
    """A provider cannot run as configured: unknown model, invalid config field or a missing secret."""


class BuildFailedError(TutopandaError):
    """A build ran but some jobs failed; what succeeded is committed and kept."""
