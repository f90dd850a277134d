"""The small-cell rule as the report applies it: a figure counted from fewer patients than the
dbt var `small_cell_limit` is not shown (the marts apply the same var through the macro
`is_small_cell`; nothing here restates the number).
"""
from __future__ import annotations

from functools import lru_cache

from ..rules import dbt_var

SUPPRESSED = "suppressed"


@lru_cache(maxsize=None)
def small_cell_limit() -> int:
    return int(dbt_var("small_cell_limit"))


def is_small(n: int | None, limit: int | None = None) -> bool:
    """A cell of 1 to limit-1 patients; an empty cell (0) discloses nobody and is shown."""
    limit = small_cell_limit() if limit is None else limit
    return n is not None and 0 < n < limit


def count_text(n: int | None, limit: int | None = None) -> str:
    """A count as the report prints it: thousands separated, or `<limit` for a small cell."""
    limit = small_cell_limit() if limit is None else limit
    if n is None:
        return ""
    if is_small(n, limit):
        return f"<{limit}"
    return f"{int(n):,}"


def shown_count(n: int | None, limit: int | None = None) -> int | None:
    """The count for a CSV or headline: None for a small cell."""
    return None if n is None or is_small(n, limit) else int(n)


def complementary(counts: dict[str, int], limit: int | None = None) -> set[str]:
    """The levels whose counts must be hidden in one group: the small ones, and, when exactly one
    is small, the next smallest too, so the hidden one cannot be recovered from the group total."""
    limit = small_cell_limit() if limit is None else limit
    hidden = {level for level, n in counts.items() if is_small(n, limit)}
    if len(hidden) == 1:
        others = sorted((n, level) for level, n in counts.items() if level not in hidden and n > 0)
        if others:
            hidden.add(others[0][1])
    return hidden
