"""The seeds ingestion checks against, as SQL expressions built from the seed values.

The values come from the dbt seeds through `etl.terminology` (the one reader of the seed files);
only their shape is written here. Lookups are CASE expressions rather than joins or IN lists
because a projection-only query keeps the rows in file order (see `etl.ingest.loader`).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping

from .. import terminology
from ..sqltext import literal


def mapped(expr: str, mapping: Mapping[str, str]) -> str:
    """`expr` translated through `mapping` (NULL when absent)."""
    cases = " ".join(f"WHEN {literal(k)} THEN {literal(v)}" for k, v in sorted(mapping.items()))
    return f"CASE {expr} {cases} END"


def within(expr: str, values: Iterable[str]) -> str:
    """`expr` is one of `values` (NULL when `expr` is NULL, as `IN` would give).

    A CASE rather than `IN (...)`: DuckDB rewrites a long IN list into a hash join, and a join
    gives up the file order that line numbering relies on."""
    cases = " ".join(f"WHEN {literal(v)} THEN true" for v in sorted(values))
    return f"CASE WHEN {expr} IS NULL THEN NULL ELSE CASE {expr} {cases} ELSE false END END"


def spelled(category: str, expr: str) -> str:
    """`expr` (lower-case text as sent) as the registry's value of a category of seed
    category_spellings (sex, menopausal_status, side, fragility); NULL when the seed lacks it."""
    return mapped(expr, terminology.spellings(category))


def spelled_boolean(category: str, expr: str) -> str:
    """`spelled` for a true/false category (fragility), as a BOOLEAN."""
    return f"CAST({spelled(category, expr)} AS BOOLEAN)"


def fhir_status_as_hl7(expr: str) -> str:
    """A FHIR Observation.status as its HL7 table 0085 letter (seed result_statuses, `from_fhir`);
    anything else stays as written, so the loader quarantines it as `invalid_status`."""
    return f"coalesce({mapped(expr, terminology.hl7_status_by_fhir())}, {expr})"


def analyte_by_loinc() -> Mapping[str, str]:
    return terminology.analyte_by_loinc()


def unit_by_key() -> Mapping[str, str]:
    """Normalised spelling (lower case, no blanks) to the canonical unit, as in `unit_aliases`."""
    return terminology.unit_by_key()


def convertible_pairs() -> set[str]:
    return {f"{analyte}|{unit}" for analyte, unit in terminology.unit_factors()}


def dxa_unit_factors() -> Mapping[str, Mapping[str, float]]:
    return terminology.dxa_unit_factors()


def statuses() -> frozenset[str]:
    return terminology.status_letters()


def final_statuses() -> frozenset[str]:
    return terminology.final_statuses()


def dxa_sites() -> tuple[str, ...]:
    return terminology.dxa_sites()
