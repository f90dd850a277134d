"""The seeds ingestion checks against, as SQL expressions built from the seed files.

The values come from the dbt seeds (`dbt_project/seeds/*.csv`) each time a query is built; only
their shape is written here. Lookups are CASE and IN expressions rather than joins because a
projection-only query keeps the rows in file order (see `etl.ingest.loader`).
"""
from __future__ import annotations

import csv
from functools import lru_cache

from ..terminology import seed_path


@lru_cache(maxsize=None)
def _rows(name: str) -> tuple[dict[str, str], ...]:
    with seed_path(name).open(newline="", encoding="utf-8") as handle:
        return tuple(csv.DictReader(handle))


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def mapped(expr: str, mapping: dict[str, str]) -> str:
    """`expr` translated through `mapping` (NULL when absent)."""
    cases = " ".join(f"WHEN {_literal(k)} THEN {_literal(v)}" for k, v in sorted(mapping.items()))
    return f"CASE {expr} {cases} END"


def within(expr: str, values: set[str]) -> str:
    """`expr` is one of `values` (NULL when `expr` is NULL, as `IN` would give).

    A CASE rather than `IN (...)`: DuckDB rewrites a long IN list into a hash join, and a join
    gives up the file order that line numbering relies on."""
    cases = " ".join(f"WHEN {_literal(v)} THEN true" for v in sorted(values))
    return f"CASE WHEN {expr} IS NULL THEN NULL ELSE CASE {expr} {cases} ELSE false END END"


def analyte_by_loinc() -> dict[str, str]:
    return {r["loinc_code"]: r["analyte"] for r in _rows("analyte_codes")}


def unit_by_key() -> dict[str, str]:
    """Normalised spelling (lower case, no blanks) to the canonical unit, as in `unit_aliases`."""
    keys = {r["unit"].replace(" ", "").lower(): r["unit"] for r in _rows("unit_conversions")}
    keys.update({r["unit_alias"].strip().replace(" ", "").lower(): r["unit"] for r in _rows("unit_aliases")})
    return keys


def convertible_pairs() -> set[str]:
    return {f"{r['analyte']}|{r['unit']}" for r in _rows("unit_conversions")}


def statuses() -> set[str]:
    return {r["status"] for r in _rows("result_statuses")}


def final_statuses() -> set[str]:
    return {r["status"] for r in _rows("result_statuses") if r["is_final"] == "true"}


def dxa_sites() -> set[str]:
    return {r["site"] for r in _rows("dxa_codes")}
