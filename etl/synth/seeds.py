"""The seed facts the generator needs, read from the dbt seeds so no number is restated here.

The generator must write units the registry can convert (and a few it cannot), spell them the
ways the alias seed knows, and name quarantine reasons and DXA sites exactly as the seeds do.
"""
from __future__ import annotations

import csv
from functools import lru_cache

from ..paths import SEEDS_DIR


def _rows(name: str) -> list[dict[str, str]]:
    with (SEEDS_DIR / f"{name}.csv").open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@lru_cache(maxsize=None)
def unit_factors() -> dict[tuple[str, str], float]:
    """(analyte, unit) -> factor to SI, from `unit_conversions.csv`."""
    return {(r["analyte"], r["unit"]): float(r["factor_to_si"]) for r in _rows("unit_conversions")}


@lru_cache(maxsize=None)
def unit_spellings(unit: str) -> tuple[str, ...]:
    """The canonical spelling first, then every alias the seed maps to it, then upper case."""
    aliases = [r["unit_alias"] for r in _rows("unit_aliases") if r["unit"] == unit and r["unit_alias"] != unit]
    spellings = [unit, *aliases, unit.upper()]
    return tuple(dict.fromkeys(spellings))


@lru_cache(maxsize=None)
def known_unit_keys() -> frozenset[str]:
    """Every unit spelling the registry normalises (lower case), to check a bad unit is truly bad."""
    keys = {r["unit_alias"].lower() for r in _rows("unit_aliases")}
    keys |= {r["unit"].lower() for r in _rows("unit_conversions")}
    return frozenset(keys)


@lru_cache(maxsize=None)
def analyte_of_code() -> dict[str, str]:
    return {r["loinc_code"]: r["analyte"] for r in _rows("analyte_codes")}


@lru_cache(maxsize=None)
def quarantine_reasons() -> tuple[str, ...]:
    return tuple(r["reason"] for r in _rows("quarantine_reasons"))


@lru_cache(maxsize=None)
def dxa_sites() -> tuple[str, ...]:
    return tuple(dict.fromkeys(r["site"] for r in _rows("dxa_codes")))
