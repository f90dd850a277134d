"""ROC analysis: AUROC with DeLong's interval, DeLong's test for two paired ROC curves, and the
Youden cut-off.

DeLong, DeLong & Clarke-Pearson, Biometrics 1988;44:837 (structural components, the covariance
of correlated AUROCs); computed by midranks as Sun & Xu, IEEE Signal Process Lett 2014;21:1389,
so n log n instead of a loop over all pairs. "Higher score means the outcome"; a marker where
lower means the outcome (magnesium) is passed negated.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats
from scipy.stats import rankdata


@dataclass(frozen=True)
class Auroc:
    n: int
    n_outcomes: int
    auroc: float
    se: float
    ci_low: float
    ci_high: float


@dataclass(frozen=True)
class PairedComparison:
    auroc_a: float
    auroc_b: float
    difference: float             # a - b
    se: float
    ci_low: float
    ci_high: float
    z: float
    p_value: float
    n: int


def _split(scores: np.ndarray, outcome: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Scores (k markers x rows) of positives and of negatives."""
    scores = np.atleast_2d(np.asarray(scores, dtype=np.float64))
    y = np.asarray(outcome, dtype=bool)
    return scores[:, y], scores[:, ~y]


def structural_components(scores, outcome) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(AUROC per marker, V10 per marker x positive, V01 per marker x negative), ties counted half."""
    positives, negatives = _split(scores, outcome)
    m, n = positives.shape[1], negatives.shape[1]
    v10 = np.empty_like(positives)
    v01 = np.empty_like(negatives)
    for marker in range(positives.shape[0]):
        ranks_all = rankdata(np.concatenate([positives[marker], negatives[marker]]))
        v10[marker] = (ranks_all[:m] - rankdata(positives[marker])) / n
        v01[marker] = 1.0 - (ranks_all[m:] - rankdata(negatives[marker])) / m
    return v10.mean(axis=1), v10, v01


def delong_covariance(scores, outcome) -> tuple[np.ndarray, np.ndarray]:
    """(AUROCs, their DeLong covariance matrix) for markers measured on the same rows."""
    aucs, v10, v01 = structural_components(scores, outcome)
    m, n = v10.shape[1], v01.shape[1]
    if m < 2 or n < 2:
        raise ValueError("DeLong's variance needs at least two rows with and two without the outcome.")
    covariance = np.atleast_2d(np.cov(v10, ddof=1)) / m + np.atleast_2d(np.cov(v01, ddof=1)) / n
    return aucs, covariance


def _z(alpha: float) -> float:
    return float(stats.norm.isf(alpha / 2))


def auroc(scores, outcome, alpha: float = 0.05) -> Auroc:
    """AUROC with DeLong's Wald interval, cut to [0, 1]."""
    y = np.asarray(outcome, dtype=bool)
    aucs, covariance = delong_covariance(np.asarray(scores, dtype=np.float64)[None, :], y)
    area, se = float(aucs[0]), math.sqrt(max(float(covariance[0, 0]), 0.0))
    z = _z(alpha)
    return Auroc(int(len(y)), int(y.sum()), area, se, max(0.0, area - z * se), min(1.0, area + z * se))


def paired_delong(scores_a, scores_b, outcome, alpha: float = 0.05) -> PairedComparison:
    """DeLong's test that two markers on the same patients have the same AUROC."""
    y = np.asarray(outcome, dtype=bool)
    aucs, covariance = delong_covariance(np.vstack([scores_a, scores_b]), y)
    difference = float(aucs[0] - aucs[1])
    variance = float(covariance[0, 0] + covariance[1, 1] - 2 * covariance[0, 1])
    se = math.sqrt(max(variance, 0.0))
    z_stat = difference / se if se > 0 else 0.0
    z = _z(alpha)
    return PairedComparison(float(aucs[0]), float(aucs[1]), difference, se, difference - z * se,
                            difference + z * se, z_stat, float(2 * stats.norm.sf(abs(z_stat))), int(len(y)))


@dataclass(frozen=True)
class Youden:
    cutoff: float
    sensitivity: float
    specificity: float
    youden_j: float
    direction: str                # "at_or_below" (low values predict) or "at_or_above"


def youden(values, outcome, direction: str = "at_or_below") -> Youden:
    """The observed value c maximising sensitivity + specificity - 1 for the rule 'value <= c'
    (or '>= c') predicts the outcome; the first such value on ties."""
    values = np.asarray(values, dtype=np.float64)
    y = np.asarray(outcome, dtype=bool)
    if direction not in ("at_or_below", "at_or_above"):
        raise ValueError(f"direction must be at_or_below or at_or_above, not {direction!r}")
    signed = values if direction == "at_or_below" else -values
    order = np.argsort(signed, kind="stable")
    sorted_values, sorted_y = signed[order], y[order]
    last = np.r_[sorted_values[1:] != sorted_values[:-1], True]
    sensitivity = np.cumsum(sorted_y)[last] / y.sum()
    specificity = 1.0 - np.cumsum(~sorted_y)[last] / (~y).sum()
    j = sensitivity + specificity - 1.0
    best = int(np.argmax(j))
    cutoff = float(sorted_values[last][best])
    return Youden(cutoff if direction == "at_or_below" else -cutoff, float(sensitivity[best]),
                  float(specificity[best]), float(j[best]), direction)


def roc_points(scores, outcome) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(false positive rate, true positive rate, threshold) from the highest threshold down."""
    scores = np.asarray(scores, dtype=np.float64)
    y = np.asarray(outcome, dtype=bool)
    order = np.argsort(-scores, kind="stable")
    s, yy = scores[order], y[order]
    last = np.r_[s[1:] != s[:-1], True]
    tpr = np.r_[0.0, np.cumsum(yy)[last] / yy.sum()]
    fpr = np.r_[0.0, np.cumsum(~yy)[last] / (~yy).sum()]
    return fpr, tpr, np.r_[np.inf, s[last]]
