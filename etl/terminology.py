"""The one Python reader of the dbt seeds (`dbt_project/seeds/*.csv`): codes, units, statuses,
spellings, limits and reason codes, as typed values.

dbt loads the same files into the `terminology` schema and joins them on every build; Python
needs some of them before dbt has ever run (ingestion checks what it can convert and which
status letters exist, quality checks name the limits, the synthetic generator writes what the
registry understands), so it reads the CSV files here and nowhere else. Every accessor is cached
per seeds folder and returns values a caller cannot change (tuples, frozensets, read-only
mappings). `seeds_dir` exists so tests can point at a changed copy of the seeds.
"""
from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType

from .errors import OsteoregError
from .paths import SEEDS_DIR

# The categories of seed category_spellings.csv (contract section 2): what a source may write.
SPELLING_CATEGORIES = ("sex", "menopausal_status", "side", "fragility")


def seed_path(name: str, seeds_dir: Path = SEEDS_DIR) -> Path:
    return Path(seeds_dir) / f"{name}.csv"


@lru_cache(maxsize=None)
def rows(name: str, seeds_dir: Path = SEEDS_DIR) -> tuple[Mapping[str, str], ...]:
    """A seed's rows as text, in file order; one sentence when the file cannot be read."""
    path = seed_path(name, seeds_dir)
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            return tuple(MappingProxyType(row) for row in csv.DictReader(handle))
    except OSError as error:
        raise OsteoregError(f"The seed {path} cannot be read: {error.strerror}.") from error


def _frozen(mapping: dict) -> Mapping:
    return MappingProxyType(mapping)


# --- analytes and codes -----------------------------------------------------------------------

@lru_cache(maxsize=None)
def analyte_by_loinc(seeds_dir: Path = SEEDS_DIR) -> Mapping[str, str]:
    """LOINC code -> analyte of every tracked code (`analyte_codes.csv`)."""
    return _frozen({r["loinc_code"]: r["analyte"] for r in rows("analyte_codes", seeds_dir)})


@lru_cache(maxsize=None)
def si_unit_by_analyte(seeds_dir: Path = SEEDS_DIR) -> Mapping[str, str]:
    """Analyte -> the SI unit the marts carry (`analytes.csv`), in the seed's order."""
    return _frozen({r["analyte"]: r["si_unit"] for r in rows("analytes", seeds_dir)})


# --- units ------------------------------------------------------------------------------------

def unit_key(spelling: str) -> str:
    """The spelling key of contract section 7: lower case without blanks (as the dbt staging model)."""
    return spelling.strip().replace(" ", "").lower()


@lru_cache(maxsize=None)
def unit_by_key(seeds_dir: Path = SEEDS_DIR) -> Mapping[str, str]:
    """Spelling key -> canonical unit: every canonical unit of a conversion, then every alias."""
    keys = {unit_key(r["unit"]): r["unit"] for r in rows("unit_conversions", seeds_dir)}
    keys.update({unit_key(r["unit_alias"]): r["unit"] for r in rows("unit_aliases", seeds_dir)})
    return _frozen(keys)


@lru_cache(maxsize=None)
def unit_factors(seeds_dir: Path = SEEDS_DIR) -> Mapping[tuple[str, str], float]:
    """(analyte, canonical unit) -> factor to the SI unit (`unit_conversions.csv`)."""
    return _frozen({(r["analyte"], r["unit"]): float(r["factor_to_si"]) for r in rows("unit_conversions", seeds_dir)})


@lru_cache(maxsize=None)
def dxa_unit_factors(seeds_dir: Path = SEEDS_DIR) -> Mapping[str, Mapping[str, float]]:
    """DXA measure -> {canonical unit: factor to the stored unit} (`dxa_units.csv`)."""
    measures: dict[str, dict[str, float]] = {}
    for r in rows("dxa_units", seeds_dir):
        measures.setdefault(r["measure"], {})[r["unit"]] = float(r["factor"])
    return _frozen({m: _frozen(units) for m, units in measures.items()})


@lru_cache(maxsize=None)
def unit_spellings(unit: str, seeds_dir: Path = SEEDS_DIR) -> tuple[str, ...]:
    """The canonical spelling first, then every alias the seed maps to it, then upper case."""
    aliases = [r["unit_alias"] for r in rows("unit_aliases", seeds_dir) if r["unit"] == unit and r["unit_alias"] != unit]
    return tuple(dict.fromkeys([unit, *aliases, unit.upper()]))


# --- result statuses (HL7 table 0085 <-> FHIR Observation.status) ----------------------------

@dataclass(frozen=True)
class ResultStatus:
    status: str            # HL7 table 0085 letter
    fhir_status: str       # the FHIR Observation.status it corresponds to
    from_fhir: bool        # the letter a FHIR reader gives that fhir_status
    is_final: bool
    effect: str            # current, replace, remove, no_value or wait (contract section 5)


@lru_cache(maxsize=None)
def result_statuses(seeds_dir: Path = SEEDS_DIR) -> tuple[ResultStatus, ...]:
    return tuple(ResultStatus(r["status"], r["fhir_status"], r["from_fhir"] == "true", r["is_final"] == "true",
                              r["effect"]) for r in rows("result_statuses", seeds_dir))


def status_letters(seeds_dir: Path = SEEDS_DIR) -> frozenset[str]:
    return frozenset(s.status for s in result_statuses(seeds_dir))


def final_statuses(seeds_dir: Path = SEEDS_DIR) -> frozenset[str]:
    return frozenset(s.status for s in result_statuses(seeds_dir) if s.is_final)


@lru_cache(maxsize=None)
def hl7_status_by_fhir(seeds_dir: Path = SEEDS_DIR) -> Mapping[str, str]:
    """FHIR Observation.status -> HL7 letter, for the statuses the seed marks `from_fhir`."""
    mapping: dict[str, str] = {}
    for s in result_statuses(seeds_dir):
        if s.from_fhir:
            if s.fhir_status in mapping:
                raise OsteoregError(f"The seed result_statuses marks both {mapping[s.fhir_status]} and {s.status} "
                                    f"as the letter of FHIR status {s.fhir_status!r}; mark one.")
            mapping[s.fhir_status] = s.status
    return _frozen(mapping)


@lru_cache(maxsize=None)
def fhir_status_by_hl7(seeds_dir: Path = SEEDS_DIR) -> Mapping[str, str]:
    """HL7 letter -> FHIR status for the letters a FHIR round trip keeps (the inverse of the above)."""
    return _frozen({letter: fhir for fhir, letter in hl7_status_by_fhir(seeds_dir).items()})


# --- DXA, plausibility, spellings, reasons ------------------------------------------------------

@lru_cache(maxsize=None)
def dxa_loinc_by_measure(seeds_dir: Path = SEEDS_DIR) -> Mapping[tuple[str, str, str], str]:
    """(site, side, measure) -> LOINC code (`dxa_codes.csv`; side '' when unsided)."""
    return _frozen({(r["site"], r["side"], r["measure"]): r["loinc_code"] for r in rows("dxa_codes", seeds_dir)})


@lru_cache(maxsize=None)
def dxa_sites(seeds_dir: Path = SEEDS_DIR) -> tuple[str, ...]:
    """The contract's DXA sites, in the seed's order."""
    return tuple(dict.fromkeys(r["site"] for r in rows("dxa_codes", seeds_dir)))


@lru_cache(maxsize=None)
def dxa_sides(seeds_dir: Path = SEEDS_DIR) -> tuple[str, ...]:
    """The sides the DXA seed names (empty, unsided, left out), sorted."""
    return tuple(sorted({r["side"] for r in rows("dxa_codes", seeds_dir) if r["side"]}))


@lru_cache(maxsize=None)
def plausibility_limits(seeds_dir: Path = SEEDS_DIR) -> Mapping[str, tuple[float, float]]:
    """Measure -> (low, high) physiological limits in the measure's SI unit."""
    return _frozen({r["measure"]: (float(r["low"]), float(r["high"])) for r in rows("plausibility_limits", seeds_dir)})


@lru_cache(maxsize=None)
def spellings(category: str, seeds_dir: Path = SEEDS_DIR) -> Mapping[str, str]:
    """Spelling as a source may write it (lower case) -> the registry's value, for one category
    of `category_spellings.csv` (sex, menopausal_status, side, fragility)."""
    if category not in SPELLING_CATEGORIES:
        raise OsteoregError(f"The seed category_spellings has no category {category!r}.")
    return _frozen({r["spelling"]: r["value"] for r in rows("category_spellings", seeds_dir) if r["category"] == category})


@lru_cache(maxsize=None)
def who_categories(seeds_dir: Path = SEEDS_DIR) -> tuple[str, ...]:
    """The WHO categories in clinical order (seed who_categories, `display_order`)."""
    ordered = sorted(rows("who_categories", seeds_dir), key=lambda r: int(r["display_order"]))
    return tuple(r["who_category"] for r in ordered)


@lru_cache(maxsize=None)
def osteoporosis_categories(seeds_dir: Path = SEEDS_DIR) -> tuple[str, ...]:
    """The WHO categories that are densitometric osteoporosis (seed who_categories,
    `is_densitometric_osteoporosis`; the mart column of that name is computed from the same seed)."""
    flagged = {r["who_category"] for r in rows("who_categories", seeds_dir)
               if r["is_densitometric_osteoporosis"].strip().lower() == "true"}
    return tuple(c for c in who_categories(seeds_dir) if c in flagged)


@lru_cache(maxsize=None)
def quarantine_reasons(seeds_dir: Path = SEEDS_DIR) -> tuple[str, ...]:
    """Reason codes in the order the seed lists them (documentation and tests use this list)."""
    return tuple(r["reason"] for r in rows("quarantine_reasons", seeds_dir))


# What staging (stg_raw__dxa_results) writes for a manufacturer text seed dxa_manufacturers does not
# list; the seed's own row for it gives its name (a unit test of the staging model holds the two).
OTHER_DXA_MANUFACTURER = "other"


@lru_cache(maxsize=None)
def dxa_manufacturer_names(seeds_dir: Path = SEEDS_DIR) -> Mapping[str, str]:
    """The registry's DXA manufacturers (the values of `fct_bmd_assessment.manufacturer`, seed
    dxa_manufacturers) -> the name reports show, in the seed's order. Staging maps the sent text to
    these values; Python never sees or maps that text."""
    names: dict[str, str] = {}
    for r in rows("dxa_manufacturers", seeds_dir):
        if names.setdefault(r["manufacturer"], r["display_name"]) != r["display_name"]:
            raise OsteoregError(f"The seed dxa_manufacturers gives {r['manufacturer']!r} two names, "
                                f"{names[r['manufacturer']]!r} and {r['display_name']!r}; give it one.")
    return _frozen(names)
