"""Metric functions against independent computations, model versions, and the SQL rendering of a
model against its numpy rendering (the 0003 and 0007 migrations: tests/migrations)."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from etl.scoring import store
from etl.scoring.evaluate import (auroc_cluster_bootstrap, auroc_delong, calibration, patient_folds,
                                  youden_at_or_below)
from etl.scoring.linear import INPUT_COLUMNS, apply
from etl.scoring.sql import scoring_select



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
                  "bands": {"on": "probability", "ranges": [{"label": "low", "below": 0.2},
                                                            {"label": "moderate", "below": 0.5}, {"label": "high"}]}}
    assert store.version_of(parameters) == store.version_of(store.canonical(parameters))
    assert store.version_of({**parameters, "intercept": -1.0 + 1e-15}) == store.version_of(parameters)
    assert store.version_of({**parameters, "intercept": -1.1}) != store.version_of(parameters)
    applied = apply(parameters, {"x": np.array([4.0, np.nan])})
    assert applied.score.tolist() == pytest.approx([-1.0 + 2.0, -1.0 + 1.0 - 0.8])
    assert applied.band.tolist() == ["high", "moderate"]          # p = 0.73 and 0.31


def test_cluster_bootstrap_widens_the_interval_when_patients_repeat():
    rng = np.random.default_rng(11)
    patients = 300
    frailty = rng.normal(0, 1.5, patients)                   # a patient's scans share their risk
    key = np.repeat(np.arange(patients), 4).astype(str)
    y = rng.random(patients * 4) < 1 / (1 + np.exp(-np.repeat(frailty, 4)))
    score = np.repeat(frailty, 4) + rng.normal(0, 0.1, patients * 4)
    clustered = auroc_cluster_bootstrap(score, y, key, replicates=400, seed=1)
    naive = auroc_delong(score, y, 1.959963984540054)
    assert clustered["auroc"] == pytest.approx(roc_auc_score(y, score), abs=1e-12)
    assert clustered["method"] == "patient_cluster_bootstrap" and clustered["n_patients"] == patients
    # four scans per patient carry less than four patients' information
    assert (clustered["ci_high"] - clustered["ci_low"]) > 1.15 * (naive["ci_high"] - naive["ci_low"])


def test_the_sql_rendering_gives_the_numpy_scores(tmp_path):
    """Every transform, imputation, truncation, bands and the population, on random rows with NULLs."""
    import duckdb

    rng = np.random.default_rng(4)
    n = 400
    data = {column: np.where(rng.random(n) < 0.2, np.nan, rng.normal(1.0, 0.3, n)) for column in INPUT_COLUMNS}
    sex = rng.choice(np.array(["F", "M", None], dtype=object), n)
    menopausal = rng.choice(np.array(["post", "pre", None], dtype=object), n)
    logistic = {"model": "m", "kind": "logistic", "intercept": -0.4,
                "population": {"sex": "F", "menopausal_status": "post"}, "population_text": "postmenopausal women",
                "terms": [{"name": "a", "column": "mg_mmol_l", "transform": "linear", "coefficient": 0.7, "impute": 1.0},
                          {"name": "b", "column": "mg_mmol_l", "transform": "rcs", "knots": [0.6, 0.9, 1.1, 1.4],
                           "basis": 1, "coefficient": -1.3, "impute": 0.05},
                          {"name": "c", "column": "mg_mmol_l", "transform": "rcs", "knots": [0.6, 0.9, 1.1, 1.4],
                           "basis": 2, "coefficient": 2.1, "impute": 0.01},
                          {"name": "d", "column": "mg_mmol_l", "transform": "is_missing", "coefficient": 0.3},
                          {"name": "e", "column": "crp_mg_l", "transform": "at_or_below", "threshold": 0.9,
                           "coefficient": 0.5},
                          {"name": "f", "column": "bmi", "transform": "linear", "coefficient": -0.2}],
                "bands": {"on": "probability", "ranges": [{"label": "low", "below": 0.2},
                                                          {"label": "moderate", "below": 0.5}, {"label": "high"}]}}
    index = {"model": "o", "kind": "index", "intercept": 0.0, "score_decimals": 10, "score_transform": "truncate",
             "terms": [{"name": "w", "column": "weight_kg", "transform": "linear", "coefficient": 2.0},
                       {"name": "g", "column": "age_years", "transform": "linear", "coefficient": -3.0}],
             "bands": {"on": "score", "ranges": [{"label": "high", "below": -1.0}, {"label": "moderate", "at_most": 0.0},
                                                 {"label": "low"}], "sexes": ["F"]}}
    conn = duckdb.connect()
    conn.execute("CREATE TABLE input AS SELECT * FROM (SELECT unnest($ids::VARCHAR[]) AS subject_id, "
                 "unnest($sex::VARCHAR[]) AS sex, unnest($meno::VARCHAR[]) AS menopausal_status)",
                 {"ids": [f"{i:04d}" for i in range(n)], "sex": sex.tolist(), "meno": menopausal.tolist()})
    conn.execute("ALTER TABLE input ADD COLUMN patient_key VARCHAR; ALTER TABLE input ADD COLUMN index_date DATE")
    conn.execute("CREATE TABLE numbers AS SELECT " + ", ".join(
        f"unnest(${c}::DOUBLE[]) AS {c}" for c in INPUT_COLUMNS) + ", unnest(range($n)) AS i",
        {**{c: [None if np.isnan(v) else float(v) for v in data[c]] for c in INPUT_COLUMNS}, "n": n})
    conn.execute("CREATE TABLE joined AS SELECT input.*, numbers.* FROM input JOIN numbers "
                 "ON numbers.i = CAST(input.subject_id AS INTEGER)")
    for parameters in (logistic, index):
        expected = apply(parameters, data, sex, menopausal)
        got = conn.execute(scoring_select(parameters).replace("{input}", "SELECT * FROM joined")
                           + " ORDER BY subject_id").fetchall()
        scores = np.array([np.nan if row[3] is None else row[3] for row in got])
        assert np.allclose(scores, expected.score, equal_nan=True, atol=1e-9)
        assert [row[5] for row in got] == expected.band.tolist()
        assert np.isnan(scores).sum() > 0 and (~np.isnan(scores)).sum() > 15
