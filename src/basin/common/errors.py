"""One error tree for Basin.

Every error Basin raises on purpose derives from :class:`BasinError`. Terminal errors
will fail again if retried unchanged (a bad config, a broken contract); transient
ones may succeed on retry (a dropped connection, HTTP 429). Messages name the thing
that failed and what the user can do next.
"""

from __future__ import annotations


class BasinError(Exception):
    """Root of all Basin errors."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\n  hint: {self.hint}"
        return self.message


class TerminalError(BasinError):
    """Retrying without a change will fail the same way."""


class TransientError(BasinError):
    """May succeed if retried (network, lock, rate limit)."""


class ConfigError(TerminalError):
    """The project file is missing or invalid. Carries one line per problem."""

    exit_code = 2

    def __init__(self, path: str, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        noun = "problem" if len(problems) == 1 else "problems"
        super().__init__(f"{path}: {len(problems)} {noun}\n{lines}")


class ProjectNotFoundError(TerminalError):
    """No basin.yml in the folder or any parent."""

    exit_code = 2


class SourceError(TerminalError):
    """A source could not be read."""


class ExtractError(TerminalError):
    """Extraction of an entity failed."""


class RowsQuarantined(ExtractError):
    """Rows were quarantined and ``quarantine.fail_run`` is on."""

    exit_code = 3


class SourceUnavailable(TransientError):
    """A source could not be reached (connection refused or reset, HTTP 429/5xx)."""


class WarehouseUnavailable(TransientError):
    """The warehouse could not be reached."""


class ContractError(ExtractError):
    """A batch broke its entity's schema contract; it was quarantined."""


class LoadError(TerminalError):
    """Loading a lake batch into the warehouse failed."""


class TransformError(TerminalError):
    """dbt failed: a model did not build or a test failed."""


class PublishError(TerminalError):
    """Publishing the audited marts failed; the previous publication is untouched."""


class GateClosed(PublishError):
    """The quality gate holds the build back (it failed, was partial, or warned with
    ``block_on_warn``); the previous publication is untouched."""


class MetadataError(TerminalError):
    """The metadata store could not be opened or migrated."""


class StepFailed(BasinError):
    """A step of ``basin run`` failed; the run is recorded as failed."""

    def __init__(self, step: str, run_id: str, cause: BaseException) -> None:
        self.step = step
        self.run_id = run_id
        self.cause = cause
        super().__init__(
            f"step '{step}' of run {run_id} failed: {cause}",
            hint="fix the cause and run `basin run` again: finished steps are not repeated "
            "(extracted files and loaded batches are skipped) and the last good "
            "publication stays in place.",
        )


_UNREACHABLE = (
    "connection refused",
    "could not connect",
    "unable to connect",
    "connection reset",
    "server closed the connection",
    "timeout expired",
    "could not translate host name",
    "no route to host",
)


# The server answered and said no: retrying would get the same answer. DuckDB's
# postgres scanner puts these under its generic "Unable to connect to Postgres at …".
_REFUSED = (
    "password authentication failed",
    "does not exist",  # a role or a database
    "no pg_hba.conf entry",
    "permission denied",
    "authentication failed",
)


def unreachable(exc: BaseException) -> bool:
    """A driver's error says the server could not be reached (worth retrying), as
    opposed to a refusal (a wrong role, password or database) or a bad table, query or
    type. DuckDB's scanners raise one error class for all: the driver's message tells
    them apart."""
    text = str(exc).lower()
    if any(marker in text for marker in _REFUSED):
        return False
    return any(marker in text for marker in _UNREACHABLE)
