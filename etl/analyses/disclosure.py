"""The small-cell rule as the analyses apply it, through one function so the project's disclosure
module can replace it: a figure counted from 1 to limit - 1 patients is not published.

The limit is the rule in effect (`marts.rules_in_effect.small_cell_limit`, what the marts were
built with): `results.run` reads it from the database it analyses and sets it for the run with
`limit_in_effect`. A function called outside a run is refused in one sentence rather than given
the dbt project's default, which a registry's build may not have used; a caller on a bare frame
states its limit (`limit_in_effect(n)` or the `limit` argument).
"""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar

from ..errors import UsageError

_LIMIT: ContextVar[int | None] = ContextVar("small_cell_limit", default=None)


@contextmanager
def limit_in_effect(limit: int):
    token = _LIMIT.set(int(limit))
    try:
        yield
    finally:
        _LIMIT.reset(token)


def small_cell_limit() -> int:
    limit = _LIMIT.get()
    if limit is None:
        raise UsageError("No small-cell limit is in effect; the analyses read small_cell_limit from "
                         "marts.rules_in_effect (results.run sets it with limit_in_effect) before counting.")
    return limit


def is_small(n: int | None, limit: int | None = None) -> bool:
    """1 to limit - 1 patients (an empty cell, 0, discloses nobody)."""
    limit = small_cell_limit() if limit is None else limit
    return n is not None and 0 < int(n) < limit


def releasable(*counts: int | None, limit: int | None = None) -> bool:
    """True when no count behind a figure (group sizes, events and non-events) is small."""
    limit = small_cell_limit() if limit is None else limit
    return not any(is_small(n, limit) for n in counts)


def shown(n: int | None, limit: int | None = None) -> int | None:
    """A count as published: None for a small cell."""
    return None if n is None or is_small(n, limit) else int(n)
