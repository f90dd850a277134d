"""Logistic regression as the papers report it: odds ratios with Wald 95% intervals from
statsmodels, complete cases, and the counts behind them (for the small-cell rule).

statsmodels is imported where a model is fitted (here and in `calibration`, `standardised`):
`etl.publish` imports this package, and every CLI command should not pay its import time."""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats


@dataclass(frozen=True)
class OddsRatio:
    term: str
    odds_ratio: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    n: int                        # complete cases in the model
    n_outcomes: int
    n_exposed: int | None = None  # for a binary term: rows with the term = 1
    reason: str | None = None     # why no estimate, when there is none


def design(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Numeric design matrix: booleans as 0/1, a text column as indicators (first level dropped)."""
    parts = []
    for column in columns:
        values = frame[column]
        text = values.dropna().map(lambda v: isinstance(v, str)).any() if values.dtype == object else \
            isinstance(values.dtype, pd.CategoricalDtype) or values.dtype == "string"
        if text:
            parts.append(pd.get_dummies(values.astype(str), prefix=column, drop_first=True, dtype=float))
        else:   # numbers, booleans, or a column of NULLs read as object
            parts.append(pd.to_numeric(values.map(lambda v: float(v) if v is not None else np.nan)
                                       if values.dtype == object else values, errors="coerce")
                         .astype("float64").rename(column))
    return pd.concat(parts, axis=1)


def fit(frame: pd.DataFrame, outcome: str, columns: list[str]):
    """(statsmodels result, complete-case frame) for outcome ~ columns, or (None, frame) when it
    cannot be fitted (no variation, separation)."""
    import statsmodels.api as sm

    complete = frame.dropna(subset=[outcome, *columns])
    x = sm.add_constant(design(complete, columns), has_constant="add")
    x = x.loc[:, (x.std(ddof=0) > 0) | (x.columns == "const")]
    y = complete[outcome].astype("float64")
    if len(y) <= x.shape[1] or y.nunique() < 2:
        return None, complete
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            result = sm.Logit(y, x).fit(disp=0, maxiter=200)
        except (np.linalg.LinAlgError, ValueError):
            return None, complete
    if not np.all(np.isfinite(result.bse)):
        return None, complete
    return result, complete


def odds_ratio(frame: pd.DataFrame, outcome: str, term: str, covariates: list[str], alpha: float = 0.05,
               scale: float = 1.0, label: str | None = None) -> OddsRatio:
    """The adjusted OR of one term (per `scale` units of it) with its interval."""
    result, complete = fit(frame, outcome, [term, *covariates])
    n, events = len(complete), int(complete[outcome].astype(bool).sum()) if len(complete) else 0
    exposed = int(complete[term].astype(bool).sum()) if complete[term].dtype == bool else None
    if result is None or term not in result.params:
        return OddsRatio(label or term, None, None, None, None, n, events, exposed,
                         "the model could not be fitted on these patients")
    z = float(stats.norm.isf(alpha / 2))
    beta, se = float(result.params[term]) * scale, float(result.bse[term]) * scale
    if abs(beta) + z * se > 50:   # separation: an OR beyond e^50 is no estimate
        return OddsRatio(label or term, None, None, None, None, n, events, exposed,
                         "no estimate: the outcome is (almost) separated by this term")
    return OddsRatio(label or term, math.exp(beta), math.exp(beta - z * se), math.exp(beta + z * se),
                     float(result.pvalues[term]), n, events, exposed)
