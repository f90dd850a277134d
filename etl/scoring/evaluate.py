"""Out-of-sample performance, the way TRIPOD asks for it: discrimination with its uncertainty,
overall accuracy, and calibration in the large and its slope.

AUROC intervals use DeLong's variance (DeLong et al., Biometrics 1988; fast midrank form of Sun
and Xu, IEEE SPL 2014), so no bootstrap loop is needed. Cross-validation folds are drawn per
patient, so one patient's two scans never sit on both sides of a split.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
from scipy.stats import rankdata


def patient_folds(patient_key: np.ndarray, n_folds: int, seed: int) -> np.ndarray:
    """A fold number per row, the same for every row of a patient (seeded, deterministic)."""
    groups, inverse = np.unique(patient_key.astype(str), return_inverse=True)
    order = np.random.default_rng(seed).permutation(len(groups))
    return (order % n_folds)[inverse]


def auroc_delong(scores: np.ndarray, outcome: np.ndarray, z: float) -> dict:
    """AUROC (higher score = more likely the outcome) with a DeLong 95% interval."""
    outcome = np.asarray(outcome, dtype=bool)
    scores = np.asarray(scores, dtype=np.float64)
    positives, negatives = scores[outcome], scores[~outcome]
    m, n = len(positives), len(negatives)
    if m < 2 or n < 2:
        return {"auroc": None, "ci_low": None, "ci_high": None, "method": "delong"}
    ranks_all = rankdata(np.concatenate([positives, negatives]))
    ranks_pos, ranks_neg = rankdata(positives), rankdata(negatives)
    area = (ranks_all[:m].sum() - m * (m + 1) / 2) / (m * n)
    v01 = (ranks_all[:m] - ranks_pos) / n
    v10 = 1.0 - (ranks_all[m:] - ranks_neg) / m
    se = math.sqrt(v01.var(ddof=1) / m + v10.var(ddof=1) / n)
    return {"auroc": float(area), "ci_low": float(max(0.0, area - z * se)),
            "ci_high": float(min(1.0, area + z * se)), "se": float(se), "method": "delong"}


def _logit(probability: np.ndarray) -> np.ndarray:
    p = np.clip(probability, 1e-12, 1 - 1e-12)
    return np.log(p / (1 - p))


def calibration(probability: np.ndarray, outcome: np.ndarray) -> dict:
    """Calibration in the large (intercept with the linear predictor as offset; 0 is ideal) and
    the calibration slope (logistic regression on the linear predictor; 1 is ideal)."""
    import statsmodels.api as sm

    lp = _logit(probability)
    y = np.asarray(outcome, dtype=np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        intercept = sm.GLM(y, np.ones((len(y), 1)), family=sm.families.Binomial(), offset=lp).fit()
        slope = sm.GLM(y, sm.add_constant(lp, has_constant="add"), family=sm.families.Binomial()).fit()
    return {"calibration_intercept": float(intercept.params[0]), "calibration_slope": float(slope.params[1])}


def probability_metrics(probability: np.ndarray, outcome: np.ndarray, z: float) -> dict:
    y = np.asarray(outcome, dtype=np.float64)
    return {
        **auroc_delong(probability, y, z),
        "brier": float(np.mean((probability - y) ** 2)),
        **calibration(probability, y),
        "mean_predicted": float(np.mean(probability)),
        "observed_rate": float(np.mean(y)),
        "n_assessments": int(len(y)),
        "n_outcomes": int(y.sum()),
    }


def youden_at_or_below(values: np.ndarray, outcome: np.ndarray) -> dict:
    """The cut-off c maximising sensitivity + specificity - 1 for the rule 'value <= c predicts
    the outcome' (low magnesium, as Shi et al.), over the observed values."""
    y = np.asarray(outcome, dtype=bool)
    order = np.argsort(values, kind="stable")
    sorted_values, sorted_y = values[order], y[order]
    positives_at_or_below = np.cumsum(sorted_y)
    negatives_at_or_below = np.cumsum(~sorted_y)
    last = np.r_[sorted_values[1:] != sorted_values[:-1], True]     # last row of each distinct value
    sensitivity = positives_at_or_below[last] / y.sum()
    specificity = 1.0 - negatives_at_or_below[last] / (~y).sum()
    j = sensitivity + specificity - 1.0
    best = int(np.argmax(j))
    return {"cutoff": float(sorted_values[last][best]), "sensitivity": float(sensitivity[best]),
            "specificity": float(specificity[best]), "youden_j": float(j[best])}


def magnesium_alone(mg: np.ndarray, outcome: np.ndarray, z: float, published_auc: float) -> dict:
    """Magnesium as the only marker (lower = higher risk), as Shi et al. reported it."""
    present = ~np.isnan(mg) & ~np.isnan(outcome)
    y = outcome[present]
    if y.sum() < 2 or (1 - y).sum() < 2:
        return {"evaluated": False, "reason": "too few assessments with a matched magnesium result"}
    return {"evaluated": True, "n_assessments": int(present.sum()), "n_outcomes": int(y.sum()),
            **auroc_delong(-mg[present], y, z), **youden_at_or_below(mg[present], y),
            "published_auroc": published_auc}
