"""The one formula every model is applied by: score = intercept + sum(coefficient x term).

A model is data (its `parameters` JSON), not code, so the registry that fitted it and a registry
that imported it compute the same numbers from the same JSON. Terms are transforms of one mart
column: `linear` (the value), `at_or_below` (1 when value <= threshold), `is_missing` (1 when the
column is empty). A term with an `impute` value uses it where the column is empty; a term without
one leaves the assessment unscorable (complete-case rule). Everything is numpy over whole columns.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import UsageError

TRANSFORMS = ("linear", "at_or_below", "is_missing")


def term_values(term: dict, columns: dict[str, np.ndarray]) -> np.ndarray:
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
    else:
        raise UsageError(f"Unknown term transform {transform!r}; known: {', '.join(TRANSFORMS)}.")
    if term.get("impute") is not None:
        values[missing] = term["impute"]
    return values


def design_matrix(terms: list[dict], columns: dict[str, np.ndarray]) -> np.ndarray:
    if not terms:
        return np.empty((len(next(iter(columns.values()))), 0))
    return np.column_stack([term_values(term, columns) for term in terms])


def expit(logit: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-logit))


@dataclass
class Applied:
    """Per row: whether it could be scored, the score, probability (logistic models), band and
    each term's contribution on the score's scale (log-odds for logistic models)."""

    scorable: np.ndarray
    score: np.ndarray
    probability: np.ndarray | None
    band: np.ndarray
    contributions: dict[str, np.ndarray]


def band_of(values: np.ndarray, bands: dict) -> np.ndarray:
    """Bands are half-open on the left: cut c starts the next band at exactly c."""
    labels = np.asarray(bands["labels"], dtype=object)
    index = np.searchsorted(np.asarray(bands["cuts"], dtype=np.float64), values, side="right")
    return labels[index]


def apply(parameters: dict, columns: dict[str, np.ndarray]) -> Applied:
    terms = parameters["terms"]
    matrix = design_matrix(terms, columns)
    coefficients = np.array([term["coefficient"] for term in terms], dtype=np.float64)
    contributions = matrix * coefficients
    scorable = ~np.isnan(matrix).any(axis=1)
    score = parameters.get("intercept", 0.0) + contributions.sum(axis=1)
    if parameters.get("score_decimals") is not None:
        score = np.round(score, parameters["score_decimals"])
    probability = expit(score) if parameters["kind"] == "logistic" else None
    on = probability if parameters["bands"]["on"] == "probability" else score
    band = band_of(np.where(scorable, on, 0.0), parameters["bands"])
    return Applied(scorable=scorable, score=score, probability=probability, band=band,
                   contributions={term["name"]: contributions[:, i] for i, term in enumerate(terms)})
