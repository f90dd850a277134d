"""Yearly magnesium-deficiency prevalence, directly standardised by age band and sex, beside the
crude rate, with a test for trend.

Direct standardisation: the standardised prevalence is sum_i w_i k_i / n_i over the strata
(sex x age band) with weights w_i of a standard population summing to 1. Its interval is Fay &
Feuer's gamma interval (Stat Med 1997;16:791), which for one stratum is the exact Poisson
(Garwood) interval. Standards: the European Standard Population 2013 (seed
`european_standard_population_2013`, 5-year groups summed into the registry's bands by the
band holding each group's lower bound, dbt var `age_band_lower_bounds`; one population for both
sexes, so each sex gets half), or the registry's own patients pooled over all years.

A stratum of the standard with no registry patient in a year cannot be estimated; that year's
standardised rate uses the strata it has, weights rescaled, and says how much standard weight
was missing. The test for trend is the year term of a binomial regression of deficiency on year,
sex and age band (an age- and sex-adjusted odds ratio per year).
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from ..terminology import seed_path, spellings

ESP_SEED = "european_standard_population_2013"
# The registry's known sexes (seed category_spellings: F, M); a patient of unknown sex has no stratum.
SEXES = tuple(sorted(set(spellings("sex").values())))


def band_label(age: int, lower_bounds: list[int]) -> str:
    """The registry's band label of an age, as the dbt macro `age_band` writes it."""
    bounds = sorted(int(b) for b in lower_bounds)
    if age < bounds[0]:
        return f"<{bounds[0]}"
    for low, high in zip(bounds, bounds[1:]):
        if low <= age < high:
            return f"{low}-{high - 1}"
    return f"{bounds[-1]}+"


def esp2013() -> pd.DataFrame:
    """The seed as a frame (age_group, age_from, age_to, population, source)."""
    return pd.read_csv(seed_path(ESP_SEED), dtype={"age_group": str, "source": str})


def esp_weights(lower_bounds: list[int], standard: pd.DataFrame | None = None) -> pd.DataFrame:
    """Standard weights per sex and registry age band: each 5-year group goes to the band that holds
    its lower bound (the bounds are multiples of 5 in the default rules, so no group is split),
    half to each sex."""
    standard = esp2013() if standard is None else standard
    bands = standard.assign(age_band=[band_label(int(a), lower_bounds) for a in standard["age_from"]])
    by_band = bands.groupby("age_band", sort=False)["population"].sum()
    rows = [{"sex": sex, "age_band": band, "weight": population / 2.0}
            for band, population in by_band.items() for sex in SEXES]
    frame = pd.DataFrame(rows)
    return frame.assign(weight=frame["weight"] / frame["weight"].sum())


def pooled_weights(counts: pd.DataFrame) -> pd.DataFrame:
    """The registry's own patients over all years as the standard (sex x age band)."""
    pooled = counts.groupby(["sex", "age_band"], as_index=False)["n_assessed"].sum()
    return pd.DataFrame({"sex": pooled["sex"], "age_band": pooled["age_band"],
                         "weight": pooled["n_assessed"] / pooled["n_assessed"].sum()})


@dataclass(frozen=True)
class Standardised:
    rate: float
    variance: float
    ci_low: float
    ci_high: float
    weight_missing: float         # share of the standard with no patient in these counts


def fay_feuer(k, n, weights, alpha: float = 0.05) -> Standardised:
    """Directly standardised rate of counts k over denominators n with standard weights, and the
    Fay-Feuer gamma interval. Strata with n = 0 are left out and the weights rescaled."""
    k, n, w = (np.asarray(x, dtype=np.float64) for x in (k, n, weights))
    present = n > 0
    missing = float(w[~present].sum() / w.sum())
    k, n, w = k[present], n[present], w[present] / w[present].sum()
    rate = float(np.sum(w * k / n))
    variance = float(np.sum(w * w * k / (n * n)))
    wm = float(np.max(w / n))
    low = 0.0 if rate == 0 or variance == 0 else float(
        stats.gamma.ppf(alpha / 2, rate * rate / variance, scale=variance / rate))
    shape_high = (rate + wm) ** 2 / (variance + wm * wm)
    high = float(stats.gamma.ppf(1 - alpha / 2, shape_high, scale=(variance + wm * wm) / (rate + wm)))
    return Standardised(rate, variance, low, high, missing)


def _wilson(k: int, n: int, alpha: float) -> tuple[float, float]:
    from statsmodels.stats.proportion import proportion_confint

    low, high = proportion_confint(k, n, alpha=alpha, method="wilson")
    return float(low), float(high)


YEARLY_COLUMNS = ("year", "n_assessed", "n_deficient", "n_unknown_sex", "crude", "crude_ci_low", "crude_ci_high",
                  "standardised", "standardised_ci_low", "standardised_ci_high", "standard_weight_missing")


def yearly(counts: pd.DataFrame, weights: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """One row per year: crude prevalence (Wilson interval, as the marts) and the standardised one.

    counts: year, sex, age_band, n_assessed, n_deficient (every patient once per year; strata of
    sex outside F/M are counted in the crude rate only and reported as `n_unknown_sex`)."""
    rows = []
    for year, cells in counts.groupby("year", sort=True):
        n_all, k_all = int(cells["n_assessed"].sum()), int(cells["n_deficient"].sum())
        known = weights.merge(cells[["sex", "age_band", "n_assessed", "n_deficient"]], on=["sex", "age_band"],
                              how="left").fillna({"n_assessed": 0, "n_deficient": 0})
        crude_low, crude_high = _wilson(k_all, n_all, alpha) if n_all else (math.nan, math.nan)
        dsr = fay_feuer(known["n_deficient"], known["n_assessed"], known["weight"], alpha) \
            if known["n_assessed"].sum() > 0 else None
        rows.append({
            "year": int(year), "n_assessed": n_all, "n_deficient": k_all,
            "n_unknown_sex": int(cells.loc[~cells["sex"].isin(SEXES), "n_assessed"].sum()),
            "crude": k_all / n_all if n_all else math.nan, "crude_ci_low": crude_low, "crude_ci_high": crude_high,
            "standardised": dsr.rate if dsr else math.nan, "standardised_ci_low": dsr.ci_low if dsr else math.nan,
            "standardised_ci_high": dsr.ci_high if dsr else math.nan,
            "standard_weight_missing": dsr.weight_missing if dsr else 1.0,
        })
    return pd.DataFrame(rows, columns=list(YEARLY_COLUMNS))


@dataclass(frozen=True)
class Trend:
    odds_ratio_per_year: float
    ci_low: float
    ci_high: float
    p_value: float
    years: int


def trend(counts: pd.DataFrame, alpha: float = 0.05) -> Trend | None:
    """Binomial regression of deficiency on year (linear), sex and age band, from the cell counts."""
    import statsmodels.api as sm

    cells = counts[counts["n_assessed"] > 0]
    if cells["year"].nunique() < 3:
        return None
    design = pd.get_dummies(cells[["sex", "age_band"]].astype(str), drop_first=True, dtype=float)
    design.insert(0, "year", cells["year"].astype(float) - float(cells["year"].min()))
    design = sm.add_constant(design, has_constant="add")
    response = np.column_stack([cells["n_deficient"], cells["n_assessed"] - cells["n_deficient"]]).astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = sm.GLM(response, design, family=sm.families.Binomial()).fit()
    beta, se = float(fit.params["year"]), float(fit.bse["year"])
    z = float(stats.norm.isf(alpha / 2))
    return Trend(math.exp(beta), math.exp(beta - z * se), math.exp(beta + z * se), float(fit.pvalues["year"]),
                 int(cells["year"].nunique()))


def latest_complete_year(years, last_date) -> int | None:
    """The latest year whose whole span lies within the data: before the year of the last scan, or
    that year itself when the last scan is on 31 December."""
    if last_date is None or len(years) == 0:
        return None
    last = pd.Timestamp(last_date)
    complete = [int(y) for y in years if int(y) < last.year or (int(y) == last.year and last.month == 12
                                                                 and last.day == 31)]
    return max(complete) if complete else None
