"""The one formula every model is: score = intercept + sum(coefficient x term), with its bands.

A model is data (its `parameters` JSON), not code, so the registry that fitted it and a registry
that imported it compute the same numbers from the same JSON. Terms are transforms of one input
column (etl/scoring/sql/*_inputs.sql): `linear` (the value), `at_or_below` (1 when value <=
threshold), `is_missing` (1 when empty) and `rcs` (one non-linear basis function of a restricted
cubic spline, Harrell's parametrisation). A term with an `impute` value uses it where the column
is empty; without one the row is not scorable (complete case).

Two renderings of the same definitions: numpy here, for fitting and cross-validation on the
bounded training sample, and SQL in `sql.py`, which scores every row of the warehouse in one
statement. `tests/scoring` checks that both give the same scores.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import UsageError

TRANSFORMS = ("linear", "at_or_below", "is_missing", "rcs")
# The input columns a term may name (etl/scoring/sql/assessment_inputs.sql).
INPUT_COLUMNS = ("age_years", "is_female", "weight_kg", "bmi", "mg_mmol_l", "mg_below_op_cutoff",
                 "phosphate_mmol_l", "calcium_mmol_l", "vitd_nmol_l", "pth_ng_l", "crp_mg_l",
                 "beta_ctx_ng_ml", "p1np_ng_ml")


def rcs_basis(x: np.ndarray, knots: list[float], basis: int) -> np.ndarray:
    """Harrell's restricted cubic spline basis function `basis` (1 .. k-2), linear beyond the
    outer knots, scaled by (t_k - t_1)^2 so its coefficient has a readable size."""
    t = np.asarray(knots, dtype=np.float64)
    k = len(t)
    j = basis - 1
    cube = lambda v: np.where(np.isnan(v), np.nan, np.maximum(v, 0.0) ** 3)  # noqa: E731
    value = (cube(x - t[j]) - cube(x - t[k - 2]) * (t[k - 1] - t[j]) / (t[k - 1] - t[k - 2])
             + cube(x - t[k - 1]) * (t[k - 2] - t[j]) / (t[k - 1] - t[k - 2]))
    return value / (t[k - 1] - t[0]) ** 2


def term_values(term: dict, columns: dict[str, np.ndarray], impute: bool = True) -> np.ndarray:
    """The term's value per row; NaN where its column is empty and the term imputes nothing."""
    raw = np.asarray(columns[term["column"]], dtype=np.float64)
    transform = term["transform"]
    missing = np.isnan(raw)
    if transform == "is_missing":
        return missing.astype(np.float64)
    if transform == "linear":
        values = raw.copy()
    elif transform == "at_or_below":
        values = np.where(missing, np.nan, (raw <= term["threshold"]).astype(np.float64))
    elif transform == "rcs":
        values = rcs_basis(raw, term["knots"], term["basis"])
    else:
        raise UsageError(f"Unknown term transform {transform!r}; known: {', '.join(TRANSFORMS)}.")
    if impute and term.get("impute") is not None:
        values[missing] = term["impute"]
    return values


def design_matrix(terms: list[dict], columns: dict[str, np.ndarray], impute: bool = True) -> np.ndarray:
    if not terms:
        return np.empty((len(next(iter(columns.values()))), 0))
    return np.column_stack([term_values(term, columns, impute) for term in terms])


def expit(logit: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-logit))


def finish_score(parameters: dict, linear_predictor: np.ndarray) -> np.ndarray:
    """Rounding (floating-point noise) and, for OST, truncation to an integer (Koh 2001)."""
    score = linear_predictor
    if parameters.get("score_decimals") is not None:
        score = np.round(score, parameters["score_decimals"])
    if parameters.get("score_transform") == "truncate":
        score = np.trunc(score) + 0.0          # + 0.0: no negative zero
    return score


def band_of(values: np.ndarray, bands: dict) -> np.ndarray:
    """Ranges in order: `below` c takes values < c, `at_most` c values <= c, the last the rest."""
    out = np.full(len(values), None, dtype=object)
    open_rows = ~np.isnan(values)
    for band in bands["ranges"]:
        if "below" in band:
            hit = open_rows & (values < band["below"])
        elif "at_most" in band:
            hit = open_rows & (values <= band["at_most"])
        else:
            hit = open_rows
        out[hit] = band["label"]
        open_rows &= ~hit
    return out


def in_population(parameters: dict, sex: np.ndarray, menopausal_status: np.ndarray) -> np.ndarray:
    population = parameters.get("population") or {}
    inside = np.ones(len(sex), dtype=bool)
    if "sex" in population:
        inside &= np.asarray(sex, dtype=object) == population["sex"]
    if "menopausal_status" in population:
        inside &= np.asarray(menopausal_status, dtype=object) == population["menopausal_status"]
    return inside


@dataclass
class Applied:
    """Per row: whether it could be scored, the score, probability (logistic models), band and
    each term's contribution on the score's scale (log-odds for logistic models)."""

    scorable: np.ndarray
    score: np.ndarray
    probability: np.ndarray | None
    band: np.ndarray
    contributions: dict[str, np.ndarray]


def apply(parameters: dict, columns: dict[str, np.ndarray], sex: np.ndarray | None = None,
          menopausal_status: np.ndarray | None = None) -> Applied:
    terms = parameters["terms"]
    matrix = design_matrix(terms, columns)
    coefficients = np.array([term["coefficient"] for term in terms], dtype=np.float64)
    contributions = matrix * coefficients
    scorable = ~np.isnan(matrix).any(axis=1)
    n = matrix.shape[0]
    if sex is not None:
        scorable &= in_population(parameters, sex, menopausal_status)
    score = np.where(scorable, finish_score(parameters, parameters.get("intercept", 0.0) + contributions.sum(axis=1)),
                     np.nan)
    probability = expit(score) if parameters["kind"] == "logistic" else None
    on = probability if parameters["bands"]["on"] == "probability" else score
    band = band_of(on, parameters["bands"])
    banded_sexes = parameters["bands"].get("sexes")
    if banded_sexes is not None and sex is not None:
        band[~np.isin(np.asarray(sex, dtype=object), banded_sexes)] = None
    return Applied(scorable=scorable, score=score, probability=probability, band=band,
                   contributions={term["name"]: contributions[:, i] for i, term in enumerate(terms)}
                   if n else {})
