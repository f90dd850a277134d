"""Metric functions against independent computations, model versions, and the 0003 migration."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from etl import warehouse
from etl.scoring import store
from etl.scoring.evaluate import auroc_delong, calibration, patient_folds, youden_at_or_below
from etl.scoring.linear import apply

from .conftest import rows


def test_delong_auroc_matches_sklearn_and_a_bootstrap_interval():
    rng = np.random.default_rng(3)
    y = rng.random(600) < 0.35
    score = rng.normal(0, 1, 600) + 0.8 * y
    result = auroc_delong(score, y, 1.959963984540054)
    assert result["auroc"] == pytest.approx(roc_auc_score(y, score), abs=1e-12)
    boot = []
    for _ in range(400):
        i = rng.integers(0, 600, 600)
        boot.append(roc_auc_score(y[i], score[i]))
    assert result["se"] == pytest.approx(np.std(boot), rel=0.15)


def test_youden_cutoff_on_a_hand_counted_example():
    mg = np.array([0.60, 0.70, 0.70, 0.80, 0.85, 0.90, 0.95, 1.00])
    y = np.array([1, 1, 0, 1, 0, 0, 0, 0], dtype=float)
    # c = 0.80: sensitivity 3/3, specificity 4/5 -> J = 0.8 (c = 0.70: 2/3 + 4/5 - 1 = 0.47)
    assert youden_at_or_below(mg, y) == pytest.approx(
        {"cutoff": 0.80, "sensitivity": 1.0, "specificity": 0.8, "youden_j": 0.8})


def test_calibration_of_a_perfectly_calibrated_and_an_overconfident_model():
    rng = np.random.default_rng(5)
    lp = rng.normal(-0.5, 1.2, 20000)
    y = (rng.random(20000) < 1 / (1 + np.exp(-lp))).astype(float)
    good = calibration(1 / (1 + np.exp(-lp)), y)
    assert abs(good["calibration_intercept"]) < 0.05 and abs(good["calibration_slope"] - 1) < 0.05
    overconfident = calibration(1 / (1 + np.exp(-2 * lp)), y)
    assert overconfident["calibration_slope"] == pytest.approx(0.5, abs=0.05)


def test_folds_keep_each_patient_together():
    keys = np.array(["a", "b", "a", "c", "b", "d", "e", "a"], dtype=object)
    folds = patient_folds(keys, 3, seed=1)
    for key in set(keys):
        assert len(set(folds[keys == key])) == 1
    assert np.array_equal(folds, patient_folds(keys, 3, seed=1))


def test_version_depends_on_parameters_only_and_imputation_applies():
    parameters = {"model": "m", "kind": "logistic", "intercept": -1.0,
                  "terms": [{"name": "x", "column": "x", "transform": "linear", "coefficient": 0.5, "impute": 2.0},
                            {"name": "x_missing", "column": "x", "transform": "is_missing", "coefficient": -0.8}],
                  "bands": {"on": "probability", "cuts": [0.2, 0.5], "labels": ["low", "moderate", "high"]}}
    assert store.version_of(parameters) == store.version_of(store.canonical(parameters))
    assert store.version_of({**parameters, "intercept": -1.0 + 1e-15}) == store.version_of(parameters)
    assert store.version_of({**parameters, "intercept": -1.1}) != store.version_of(parameters)
    applied = apply(parameters, {"x": np.array([4.0, np.nan])})
    assert applied.score.tolist() == pytest.approx([-1.0 + 2.0, -1.0 + 1.0 - 0.8])
    assert applied.band.tolist() == ["high", "moderate"]          # p = 0.73 and 0.31


def test_migration_0003_upgrades_and_downgrades(tmp_path):
    path = tmp_path / "osteoreg.duckdb"
    assert warehouse.upgrade(path, "0003_scoring_models") == "0003_scoring_models"
    columns = "SELECT column_name FROM information_schema.columns WHERE table_schema = 'scoring' AND table_name = 'models'"
    assert {"is_current", "origin", "training_fingerprint", "model_card"} <= {r[0] for r in rows(path, columns)}
    assert warehouse.downgrade(path, "0002_quality_results") == "0002_quality_results"
    assert {r[0] for r in rows(path, columns)} == {"model_name", "model_version", "created_at", "parameters", "metrics"}
    assert rows(path, "SELECT count(*) FROM information_schema.tables WHERE table_name = 'current_risk_scores'") == [(0,)]
    assert warehouse.upgrade(path, "0003_scoring_models") == "0003_scoring_models"
