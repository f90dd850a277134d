"""Errors a user sees as one sentence on stderr, each carrying the exit status it stands for."""
from __future__ import annotations


class OsteoregError(Exception):
    """A problem the user can act on; the CLI prints it as one sentence, without a traceback."""

    exit_code = 1


class UsageError(OsteoregError):
    """Bad usage or unreadable input (contract section 1: exit status 2)."""

    exit_code = 2


class InputError(UsageError):
    """A file that cannot be read or recognised; the message names the file, line and field."""


class WarehouseLockedError(OsteoregError):
    """Another process holds the DuckDB write lock on the warehouse."""

    exit_code = 1


class BlockingProblem(OsteoregError):
    """The command ran but found a problem that must stop the pipeline (exit status 1)."""

    exit_code = 1
