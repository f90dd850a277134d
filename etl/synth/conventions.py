"""How each synthetic hospital reports its labs: LOINC code, unit, decimals, names, ranges.

Mixed units are the point: one hospital reports SI, one US conventional units, one a German
style with decimal commas, mEq/L magnesium and pmol/L PTH. Every (analyte, unit) pair must be
one the unit-conversion seed converts and every code one the analyte-code seed knows; that is
checked when the table is built, so a seed change cannot silently break the generator.
Reference intervals here are what a lab prints beside a result (data the generator writes),
not registry rules; the registry's thresholds live in dbt vars.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .. import terminology
from ..errors import OsteoregError

# Analytes of one collection, in the order a lab report lists them.
ANALYTES = ("magnesium", "calcium", "albumin", "phosphate", "vitamin_d_25oh", "pth", "crp", "beta_ctx", "p1np")
A = {name: i for i, name in enumerate(ANALYTES)}

# Printed reference intervals in SI (low, high); None = open end (CRP is printed as "<5.0").
_REFERENCE_SI = {
    "magnesium": (0.66, 1.07), "calcium": (2.10, 2.60), "albumin": (35.0, 52.0), "phosphate": (0.87, 1.45),
    "vitamin_d_25oh": (50.0, 175.0), "pth": (15.0, 68.0), "crp": (None, 5.0), "beta_ctx": (0.10, 1.00),
    "p1np": (15.0, 75.0),
}

# Assay measuring limits in SI: results beyond them are sent with a comparator (`<0.20`, `>150`).
COMPARATOR_LIMITS_SI = {"crp": (0.2, 150.0), "pth": (None, 250.0)}


@dataclass(frozen=True)
class Hospital:
    name: str
    share: float              # of patients (messy cohorts; a clean cohort uses the first only)
    decimal_comma: float      # share of its rows written with a decimal comma
    offset: float             # share of its timestamps written with a UTC offset
    normal_flag: str          # what it writes in abnormal_flag for a result in range
    manufacturer: str         # its DXA scanner
    labs: dict                # analyte -> (LOINC, unit, decimals, name as printed)


HOSPITALS = (
    Hospital("si_lab", 0.45, 0.0, 0.6, "", "Hologic", {
        "magnesium": ("2601-3", "mmol/L", 2, "Magnesium"),
        "calcium": ("2000-8", "mmol/L", 2, "Calcium"),
        "albumin": ("1751-7", "g/L", 0, "Albumin"),
        "phosphate": ("14879-1", "mmol/L", 2, "Phosphate"),
        "vitamin_d_25oh": ("14635-7", "nmol/L", 0, "25-OH Vitamin D3"),
        "pth": ("2731-8", "ng/L", 0, "PTH intact"),
        "crp": ("1988-5", "mg/L", 1, "CRP"),
        "beta_ctx": ("41171-0", "ng/mL", 2, "beta-CrossLaps"),
        "p1np": ("77370-5", "ng/mL", 1, "P1NP total"),
    }),
    Hospital("us_lab", 0.30, 0.0, 0.0, "N", "GE Lunar", {
        "magnesium": ("19123-9", "mg/dL", 1, "MAGNESIUM, SERUM"),
        "calcium": ("17861-6", "mg/dL", 1, "CALCIUM, TOTAL"),
        "albumin": ("1751-7", "g/dL", 1, "ALBUMIN"),
        "phosphate": ("2777-1", "mg/dL", 1, "PHOSPHORUS"),
        "vitamin_d_25oh": ("62292-8", "ng/mL", 0, "VITAMIN D, 25-HYDROXY"),
        "pth": ("2731-8", "pg/mL", 0, "PTH, INTACT"),
        "crp": ("1988-5", "mg/dL", 2, "C-REACTIVE PROTEIN"),
        "beta_ctx": ("41171-0", "pg/mL", 0, "C-TELOPEPTIDE, BETA"),
        "p1np": ("77370-5", "ug/L", 1, "P1NP"),
    }),
    Hospital("de_lab", 0.25, 0.7, 0.5, "", "Hologic", {
        "magnesium": ("2601-3", "mEq/L", 2, "Magnesium i.S."),
        "calcium": ("2000-8", "mmol/L", 2, "Calcium i.S."),
        "albumin": ("1751-7", "g/L", 1, "Albumin"),
        "phosphate": ("14879-1", "mmol/L", 2, "Phosphat anorg."),
        "vitamin_d_25oh": ("1989-3", "ng/mL", 1, '25-OH-Vitamin D3 "Gesamt"'),
        "pth": ("14866-8", "pmol/L", 1, "Parathormon intakt"),
        "crp": ("30522-7", "mg/L", 2, "CRP hochsensitiv"),
        "beta_ctx": ("41171-0", "ug/L", 2, "Beta-CrossLaps"),
        "p1np": ("77370-5", "ug/L", 0, "P1NP"),
    }),
)


@dataclass(frozen=True)
class Table:
    """The conventions as arrays indexed [hospital, analyte] plus the string vocabularies."""

    factor: np.ndarray            # float64: reported unit -> SI (from the unit-conversion seed)
    decimals: np.ndarray          # int64
    code: list[str]               # vocabulary index = hospital * len(ANALYTES) + analyte
    name: list[str]
    unit: list[str]               # canonical spelling
    spellings: list[tuple[str, ...]]
    ref_low: np.ndarray           # SI, nan = open
    ref_high: np.ndarray
    range_text: list[str]         # index = (h * len(ANALYTES) + a) * 2 + comma


def _fixed(value: float, decimals: int, comma: bool) -> str:
    text = f"{value:.{decimals}f}"
    return text.replace(".", ",") if comma else text


@lru_cache(maxsize=None)
def table() -> Table:
    factors = terminology.unit_factors()
    codes = terminology.analyte_by_loinc()
    n_h, n_a = len(HOSPITALS), len(ANALYTES)
    factor = np.zeros((n_h, n_a))
    decimals = np.zeros((n_h, n_a), dtype=np.int64)
    code, name, unit, spellings, range_text = [], [], [], [], []
    for h, hospital in enumerate(HOSPITALS):
        for a, analyte in enumerate(ANALYTES):
            loinc, u, d, printed = hospital.labs[analyte]
            if codes.get(loinc) != analyte:
                raise OsteoregError(f"The synthetic {hospital.name} reports {analyte} as LOINC {loinc}, "
                                    "which analyte_codes.csv does not give to that analyte.")
            if (analyte, u) not in factors:
                raise OsteoregError(f"The synthetic {hospital.name} reports {analyte} in {u}, "
                                    "which unit_conversions.csv cannot convert.")
            factor[h, a], decimals[h, a] = factors[(analyte, u)], d
            code.append(loinc)
            name.append(printed)
            unit.append(u)
            spellings.append(terminology.unit_spellings(u))
            low, high = _REFERENCE_SI[analyte]
            for comma in (False, True):
                hi = _fixed(high / factor[h, a], d, comma)
                range_text.append(f"<{hi}" if low is None else f"{_fixed(low / factor[h, a], d, comma)}-{hi}")
    ref_low = np.array([np.nan if _REFERENCE_SI[a][0] is None else _REFERENCE_SI[a][0] for a in ANALYTES])
    ref_high = np.array([_REFERENCE_SI[a][1] for a in ANALYTES])
    return Table(factor, decimals, code, name, unit, spellings, ref_low, ref_high, range_text)
