"""ROC functions against independent computations: every pair compared (O(m n) loops), sklearn,
and a hand-counted example."""
from itertools import product

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score, roc_curve

from etl.analyses import roc


def _psi(x, y):
    return 1.0 if x > y else 0.5 if x == y else 0.0


def _naive(scores, outcome):
    """DeLong 1988 by definition: V10_i = mean_j psi(X_i, Y_j), V01_j = mean_i psi(X_i, Y_j)."""
    scores = np.atleast_2d(scores)
    pos, neg = scores[:, outcome], scores[:, ~outcome]
    v10 = np.array([[np.mean([_psi(x, y) for y in neg[k]]) for x in pos[k]] for k in range(len(scores))])
    v01 = np.array([[np.mean([_psi(x, y) for x in pos[k]]) for y in neg[k]] for k in range(len(scores))])
    m, n = pos.shape[1], neg.shape[1]
    s10 = np.array([[np.sum((v10[a] - v10[a].mean()) * (v10[b] - v10[b].mean())) / (m - 1)
                     for b in range(len(scores))] for a in range(len(scores))])
    s01 = np.array([[np.sum((v01[a] - v01[a].mean()) * (v01[b] - v01[b].mean())) / (n - 1)
                     for b in range(len(scores))] for a in range(len(scores))])
    return v10.mean(axis=1), s10 / m + s01 / n


def test_hand_counted_auroc():
    # positives 0.9, 0.8, 0.4; negatives 0.7, 0.4: pairs won 2 + 2 + 0.5 (tie) of 6
    outcome = np.array([True, True, True, False, False])
    result = roc.auroc(np.array([0.9, 0.8, 0.4, 0.7, 0.4]), outcome)
    assert result.auroc == pytest.approx(4.5 / 6)
    assert (result.n, result.n_outcomes) == (5, 3)


def test_delong_matches_pairwise_definition_with_ties():
    rng = np.random.default_rng(3)
    outcome = rng.random(60) < 0.4
    a = np.round(rng.normal(outcome * 0.8, 1.0), 1)      # rounded: ties inside and across classes
    b = np.round(a + rng.normal(0, 0.7, 60), 1)
    aucs, covariance = roc.delong_covariance(np.vstack([a, b]), outcome)
    naive_aucs, naive_covariance = _naive(np.vstack([a, b]), outcome)
    assert aucs == pytest.approx(naive_aucs)
    assert covariance == pytest.approx(naive_covariance)
    assert aucs[0] == pytest.approx(roc_auc_score(outcome, a))
    single = roc.auroc(a, outcome)
    assert single.se == pytest.approx(np.sqrt(naive_covariance[0, 0]))
    assert single.ci_low == pytest.approx(single.auroc - 1.959963984540054 * single.se)


def test_paired_delong_from_the_covariance():
    rng = np.random.default_rng(11)
    outcome = rng.random(80) < 0.5
    a = rng.normal(outcome * 1.2, 1.0)
    b = rng.normal(outcome * 0.3, 1.0)
    result = roc.paired_delong(a, b, outcome)
    aucs, cov = _naive(np.vstack([a, b]), outcome)
    se = np.sqrt(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1])
    assert result.difference == pytest.approx(aucs[0] - aucs[1])
    assert result.se == pytest.approx(se)
    from scipy.stats import norm
    assert result.p_value == pytest.approx(2 * norm.sf(abs((aucs[0] - aucs[1]) / se)))
    assert result.p_value < 0.05           # a strong marker against a weak one
    same = roc.paired_delong(a, a, outcome)
    assert same.difference == 0 and same.p_value == 1.0


def test_youden_by_exhaustive_search():
    rng = np.random.default_rng(5)
    outcome = rng.random(50) < 0.4
    mg = np.round(rng.normal(0.85 - 0.05 * outcome, 0.07), 2)
    best = max(((np.mean(mg[outcome] <= c) + np.mean(mg[~outcome] > c) - 1, -c) for c in np.unique(mg)))
    result = roc.youden(mg, outcome, "at_or_below")
    assert result.youden_j == pytest.approx(best[0])
    assert result.cutoff == pytest.approx(-best[1])
    above = roc.youden(-mg, outcome, "at_or_above")
    assert above.cutoff == pytest.approx(-result.cutoff) and above.youden_j == pytest.approx(result.youden_j)


def test_roc_points_match_sklearn():
    rng = np.random.default_rng(8)
    outcome = rng.random(40) < 0.5
    s = np.round(rng.normal(outcome, 1.0), 1)
    fpr, tpr, _ = roc.roc_points(s, outcome)
    sk_fpr, sk_tpr, _ = roc_curve(outcome, s, drop_intermediate=False)
    assert fpr == pytest.approx(sk_fpr) and tpr == pytest.approx(sk_tpr)


def test_too_few_outcomes_is_refused():
    with pytest.raises(ValueError):
        roc.auroc(np.array([0.1, 0.2, 0.3]), np.array([True, False, False]))
