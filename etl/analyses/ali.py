"""Ali et al. 2025 reproduced: adults of both sexes, one row per patient (latest assessment with a
WHO category), labs and flags as the marts match them (`fct_deficiency_flags`).

- Spearman correlations of magnesium with CRP, PTH and 25-OH vitamin D, and of 25-OH vitamin D
  with the lowest T-score and with BMD (BMD within one manufacturer at a time, `strata`);
- odds ratios for osteoporosis of magnesium deficiency, vitamin D deficiency, PTH elevation and
  hypocalcaemia, each adjusted for age and sex, side by side; and the question "does magnesium
  deficiency weigh more than vitamin D deficiency?" answered as the ratio of the two ORs from one
  model holding both (with its interval), not as a yes/no.
The flags are the marts' (dbt macros), so no threshold is restated here.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from .disclosure import is_small, releasable, small_cell_limit
from .logistic import OddsRatio, fit, odds_ratio
from .standardised import SEXES
from .strata import manufacturer_strata

OUTCOME = "osteoporosis"
CORRELATIONS = (
    ("mg_mmol_l", "crp_mg_l", "magnesium", "CRP"),
    ("mg_mmol_l", "pth_ng_l", "magnesium", "PTH"),
    ("mg_mmol_l", "vitd_nmol_l", "magnesium", "25-OH vitamin D"),
    ("vitd_nmol_l", "min_t_score", "25-OH vitamin D", "lowest T-score"),
)
BMD = (("bmd_lumbar_spine", "BMD lumbar spine"), ("bmd_femoral_neck", "BMD femoral neck"),
       ("bmd_total_hip", "BMD total hip"))
EXPOSURES = (("mg_deficient", "magnesium deficiency"), ("vitd_deficient", "vitamin D deficiency"),
             ("pth_elevated", "PTH elevation"), ("hypocalcemia", "hypocalcaemia"))
ADJUSTED_FOR = ("age_at_scan", "sex")


@dataclass(frozen=True)
class Correlation:
    x: str
    y: str
    n: int | None
    rho: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    stratum: str | None = None    # the manufacturer's name (seed dxa_manufacturers), for BMD


def spearman(x: pd.Series, y: pd.Series, alpha: float = 0.05) -> tuple[int, float, float, float, float] | None:
    """(n, rho, low, high, p): Fisher-z interval with the Bonett-Wright SE, as the report's Table."""
    pair = pd.concat([x.astype("float64"), y.astype("float64")], axis=1).dropna()
    n = len(pair)
    if n < 4:
        return None
    outcome = stats.spearmanr(pair.iloc[:, 0], pair.iloc[:, 1])
    rho = float(outcome.statistic)
    se = math.sqrt((1 + rho * rho / 2) / (n - 3))
    z = float(stats.norm.isf(alpha / 2))
    centre = math.atanh(max(min(rho, 0.999999), -0.999999))
    return n, rho, math.tanh(centre - z * se), math.tanh(centre + z * se), float(outcome.pvalue)


def correlations(frame: pd.DataFrame, alpha: float = 0.05) -> list[Correlation]:
    limit = small_cell_limit()
    pairs = [(x, y, xl, yl, frame, None) for x, y, xl, yl in CORRELATIONS]
    for stratum in manufacturer_strata(frame, limit):   # a small stratum is not named at all
        pairs += [("vitd_nmol_l", column, "25-OH vitamin D", label, stratum.rows, stratum.name) for column, label in BMD]
    results = []
    for x, y, x_label, y_label, rows, stratum in pairs:
        computed = spearman(rows[x], rows[y], alpha)
        if computed is None or computed[0] < limit:
            results.append(Correlation(x_label, y_label, None, None, None, None, None, stratum))
        else:
            results.append(Correlation(x_label, y_label, *computed, stratum=stratum))
    return results


def prepare(frame: pd.DataFrame) -> pd.DataFrame:
    """The exposures as 0/1 (NULL kept), vitamin D deficiency from the mart's `vitd_status`; sex F/M
    only (the adjustment needs a known sex)."""
    out = frame[frame["sex"].isin(SEXES)].copy()
    out["vitd_deficient"] = np.where(out["vitd_status"].isna(), np.nan, (out["vitd_status"] == "deficient").astype(float))
    for column in ("mg_deficient", "pth_elevated", "hypocalcemia"):
        out[column] = out[column].map({True: 1.0, False: 0.0}).astype("float64")
    return out


@dataclass(frozen=True)
class WeightComparison:
    ratio: float | None           # OR(Mg deficiency) / OR(vitamin D deficiency), one model with both
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    n: int | None
    reason: str | None = None


def odds_ratios(frame: pd.DataFrame, alpha: float = 0.05) -> tuple[list[OddsRatio], WeightComparison]:
    data = prepare(frame)
    limit = small_cell_limit()
    adjust = list(ADJUSTED_FOR) if data["sex"].nunique() > 1 else ["age_at_scan"]
    results = []
    for column, label in EXPOSURES:
        rows = data.dropna(subset=[column])
        result = odds_ratio(rows.assign(**{column: rows[column].astype(bool)}), OUTCOME, column, adjust, alpha,
                            label=label)
        cells = [result.n_outcomes, result.n - result.n_outcomes, result.n_exposed,
                 None if result.n_exposed is None else result.n - result.n_exposed]
        results.append(result if releasable(result.n, *cells, limit=limit) else
                       OddsRatio(label, None, None, None, None, 0, 0, None, f"fewer than {limit} patients in a group"))
    return results, weigh(data, adjust, alpha)


def weigh(data: pd.DataFrame, adjust: list[str], alpha: float) -> WeightComparison:
    limit = small_cell_limit()
    result, complete = fit(data, OUTCOME, ["mg_deficient", "vitd_deficient", *adjust])
    counts = [int(complete[c].sum()) for c in ("mg_deficient", "vitd_deficient")] if len(complete) else [0, 0]
    if result is None or any(is_small(n, limit) or n == 0 for n in counts) or \
            not {"mg_deficient", "vitd_deficient"} <= set(result.params.index):
        return WeightComparison(None, None, None, None, None,
                                f"fewer than {limit} patients with both results and each deficiency")
    covariance = result.cov_params()
    difference = float(result.params["mg_deficient"] - result.params["vitd_deficient"])
    se = math.sqrt(float(covariance.loc["mg_deficient", "mg_deficient"] + covariance.loc["vitd_deficient", "vitd_deficient"]
                         - 2 * covariance.loc["mg_deficient", "vitd_deficient"]))
    z = float(stats.norm.isf(alpha / 2))
    return WeightComparison(math.exp(difference), math.exp(difference - z * se), math.exp(difference + z * se),
                            float(2 * stats.norm.sf(abs(difference / se))), len(complete))


@dataclass
class AliResult:
    n: int
    correlations: list[Correlation]
    odds_ratios: list[OddsRatio]
    weight: WeightComparison


def analyse(frame: pd.DataFrame, alpha: float = 0.05) -> AliResult:
    ratios, weight = odds_ratios(frame, alpha)
    return AliResult(len(frame), correlations(frame, alpha), ratios, weight)
