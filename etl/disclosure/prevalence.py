"""The prevalence release: the three prevalence marts as one set of linked tables.

`mg_deficiency_prevalence` (year x sex x age band x WHO category), `..._by_year` (each year the
sum of its cells) and `mg_deficiency_by_category_age` (category x age band over all years, the
sum of the matching cells, with both margins) share one population, so a hidden cell in one can
be solved from the others. dbt hid the primary cells of each (macro `is_small_cell`); here the
secondary cells are chosen over all three at once and written into the published snapshot.

Each cell has two independent counts, the deficient and the not-deficient patients; the
denominator is their sum. A cell absent from a mart is empty (every non-empty group is a row),
and the attacker knows that too.
"""
from __future__ import annotations

from dataclasses import dataclass

from .linked import Audit, Release, audit, primary, protect
from .policy import AGGREGATE_MARTS, SECONDARY, Policy, load_policy

DETAIL, BY_YEAR, GRID = AGGREGATE_MARTS
DETAIL_KEYS = ("year", "sex", "age_band", "who_category")
GRID_KEYS = ("who_category", "age_band")
MARGIN = "all"
SYSTEMS = ("deficient", "not_deficient")


@dataclass
class Protection:
    """What disclosure control did to a release: counts per table and the final audit."""

    primary: dict[str, int]
    secondary: dict[str, int]
    audit: Audit

    @property
    def total_primary(self) -> int:
        return sum(self.primary.values())

    @property
    def total_secondary(self) -> int:
        return sum(self.secondary.values())


def _counts(row: dict) -> list[float | None] | None:
    if row.get("suppressed") or row.get("n_assessed") is None:
        return None
    return [row["n_deficient"], row["n_assessed"] - row["n_deficient"]]


def prevalence_release(detail: list[dict], by_year: list[dict], grid: list[dict]) -> Release:
    """The release as the marts publish it (rows as dicts with the marts' columns)."""
    release = Release(systems=SYSTEMS, derived={"patients": SYSTEMS})
    for row in detail:
        release.add((DETAIL,) + tuple(row[k] for k in DETAIL_KEYS), _counts(row), nonempty=True)
    for row in by_year:
        release.add((BY_YEAR, row["year"]), _counts(row), nonempty=True)
    for row in grid:
        release.add((GRID, row["who_category"], row["age_band"]), _counts(row), nonempty=True)
    years: dict = {}
    cells: dict = {}
    for row in detail:
        key = (DETAIL,) + tuple(row[k] for k in DETAIL_KEYS)
        years.setdefault(row["year"], []).append(key)
        if row["who_category"] is not None and row["age_band"] is not None:
            cells.setdefault((row["who_category"], row["age_band"]), []).append(key)
    for year, parts in years.items():
        release.relate((BY_YEAR, year), parts)
    # sorted, so the relations (and the LP, and the cells it picks) are the same in every process
    categories = sorted({c for c, _ in cells} | {r["who_category"] for r in grid if r["who_category"] != MARGIN})
    bands = sorted({b for _, b in cells} | {r["age_band"] for r in grid if r["age_band"] != MARGIN})
    for (category, band), parts in cells.items():
        release.relate((GRID, category, band), parts)
    for category in categories:
        release.relate((GRID, category, MARGIN), [(GRID, category, band) for band in bands])
    for band in bands:
        release.relate((GRID, MARGIN, band), [(GRID, category, band) for category in categories])
    release.relate((GRID, MARGIN, MARGIN), [(GRID, category, MARGIN) for category in categories])
    release.relate((GRID, MARGIN, MARGIN), [(GRID, MARGIN, band) for band in bands])
    return release


def protect_prevalence(release: Release, policy: Policy, secondary: bool = True) -> Protection:
    """Primary suppression of anything the marts left small, then secondary over the release.

    `secondary=False` publishes the primary suppressions alone: only for the attacker's own
    test (it must recover cells from such a release); no command offers it.
    """
    primary(release, policy)
    result = protect(release, policy) if secondary else audit(release, policy)
    if secondary and not result.passed:
        raise RuntimeError("disclosure control found no suppression pattern that protects every hidden "
                           "prevalence cell")   # protect hides cells until it passes; this is a bug guard
    tally = {name: {table: 0 for table in AGGREGATE_MARTS} for name in ("primary", SECONDARY)}
    for key in release.suppressed():
        tally[release.reason[release.index(key)]][key[0]] += 1
    return Protection(primary=tally["primary"], secondary=tally[SECONDARY], audit=result)


def _rows(conn, table: str) -> list[dict]:
    cursor = conn.execute(f"SELECT * FROM marts.{table} ORDER BY ALL")   # same order, same choices
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, values)) for values in cursor.fetchall()]


def published_rows(conn) -> tuple[list[dict], list[dict], list[dict]] | None:
    """The three prevalence marts of an open snapshot as published (rows as dicts), or None."""
    present = {name for name, in conn.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'marts'").fetchall()}
    if not set(AGGREGATE_MARTS) <= present:
        return None
    return _rows(conn, DETAIL), _rows(conn, BY_YEAR), _rows(conn, GRID)


def protect_published_prevalence(conn, policy: Policy | None = None, secondary: bool = True) -> Protection | None:
    """Apply secondary suppression to the prevalence marts of an open snapshot, in place, under
    the policy of the build (its marts.rules_in_effect) unless one is given.

    Returns None when the snapshot holds no prevalence marts (a warehouse built before them).
    """
    present = {name for name, in conn.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'marts'").fetchall()}
    if not set(AGGREGATE_MARTS) <= present:
        return None
    policy = policy or load_policy(conn)
    release = prevalence_release(_rows(conn, DETAIL), _rows(conn, BY_YEAR), _rows(conn, GRID))
    outcome = protect_prevalence(release, policy, secondary)
    hidden = release.suppressed(SECONDARY)
    nulls = "n_assessed = NULL, n_deficient = NULL, prevalence = NULL, ci_low = NULL, ci_high = NULL, " \
            "suppressed = true, suppression = 'secondary'"
    detail = [key[1:] for key in hidden if key[0] == DETAIL]
    if detail:
        conn.executemany(f"UPDATE marts.{DETAIL} SET {nulls} WHERE year = ? AND sex IS NOT DISTINCT FROM ? "
                         "AND age_band IS NOT DISTINCT FROM ? AND who_category IS NOT DISTINCT FROM ?",
                         [list(key) for key in detail])
    years = [[key[1]] for key in hidden if key[0] == BY_YEAR]
    if years:
        conn.executemany(f"UPDATE marts.{BY_YEAR} SET {nulls} WHERE year = ?", years)
    grid = [list(key[1:]) for key in hidden if key[0] == GRID]
    if grid:
        conn.executemany(f"UPDATE marts.{GRID} SET {nulls} WHERE who_category = ? AND age_band = ?", grid)
    return outcome
