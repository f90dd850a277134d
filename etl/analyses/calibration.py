"""Out-of-sample predictions and a smoothed calibration curve with a bootstrap band.

Predictions come from k-fold cross-validation (each patient predicted by a model that never saw
them); the curve is a LOWESS of the outcome on the predicted probability (Austin & Steyerberg,
Stat Med 2014;33:517), drawn on a fixed grid, with a percentile band over bootstrap resamples of
the patients. The band shows the curve's own uncertainty, not the model's refit uncertainty.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .logistic import design


def fold_numbers(n: int, folds: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).permutation(n) % folds


def cross_validated(frame: pd.DataFrame, outcome: str, predictors: list[str], folds: int, seed: int) -> pd.Series:
    """Out-of-sample probability for every complete-case row (index of `frame`), logistic model."""
    import statsmodels.api as sm

    complete = frame.dropna(subset=[outcome, *predictors])
    x = sm.add_constant(design(complete, predictors), has_constant="add").to_numpy()
    y = complete[outcome].astype("float64").to_numpy()
    fold = fold_numbers(len(y), folds, seed)
    predicted = np.full(len(y), np.nan)
    for k in range(folds):
        train, test = fold != k, fold == k
        if test.sum() == 0:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = sm.Logit(y[train], x[train]).fit(disp=0, maxiter=200)
        predicted[test] = model.predict(x[test])
    return pd.Series(predicted, index=complete.index, name="predicted")


@dataclass(frozen=True)
class CalibrationCurve:
    grid: np.ndarray              # predicted probability
    observed: np.ndarray          # smoothed observed rate at the grid
    band_low: np.ndarray
    band_high: np.ndarray
    n: int


def _lowess(p: np.ndarray, y: np.ndarray, grid: np.ndarray, frac: float) -> np.ndarray:
    from statsmodels.nonparametric.smoothers_lowess import lowess

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.clip(lowess(y, p, frac=frac, it=0, xvals=grid), 0.0, 1.0)


def grid_for(p: np.ndarray, points: int = 50) -> np.ndarray:
    """From the 5th to the 95th percentile of the predictions (the curve is unstable at the ends,
    and an extreme prediction is one patient)."""
    low, high = np.percentile(p, [5, 95])
    return np.linspace(low, high, points)


def smoothed(p, y, frac: float, bootstrap: int, seed: int, max_rows: int, alpha: float = 0.05) -> CalibrationCurve:
    p, y = np.asarray(p, dtype=np.float64), np.asarray(y, dtype=np.float64)
    rng = np.random.default_rng(seed)
    if len(p) > max_rows:
        keep = rng.choice(len(p), size=max_rows, replace=False)
        p, y = p[keep], y[keep]
    grid = grid_for(p)
    curve = _lowess(p, y, grid, frac)
    draws = np.empty((bootstrap, len(grid)))
    for b in range(bootstrap):
        rows = rng.integers(0, len(p), len(p))
        draws[b] = _lowess(p[rows], y[rows], grid, frac)
    low, high = np.nanpercentile(draws, [100 * alpha / 2, 100 * (1 - alpha / 2)], axis=0)
    return CalibrationCurve(grid, curve, low, high, int(len(p)))
