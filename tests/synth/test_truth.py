"""The known truth: the outcome follows the stated logistic model, the T-scores follow the outcome,
and the model's inputs are exactly what a registry reads back from the written files."""
from __future__ import annotations

import math

import duckdb
import numpy as np
import pandas as pd
import statsmodels.api as sm
from sklearn.metrics import roc_auc_score

from etl.paths import SEEDS_DIR
from etl import terminology
from etl.synth.truth import MODEL

from .test_flat_files import _lab_checks, _source


def test_outcome_rate_matches_the_mean_true_probability(large_cohort):
    truth = large_cohort.truth.to_pandas()
    n = len(truth)
    mean_p = truth.p_true.mean()
    assert abs(truth.outcome.mean() - mean_p) < 4 * math.sqrt(mean_p * (1 - mean_p) / n)
    assert 0.28 < large_cohort.prevalence < 0.37


def test_fitted_logistic_model_recovers_the_true_coefficients(large_cohort):
    truth = large_cohort.truth.to_pandas()
    terms = pd.DataFrame(MODEL.terms(truth.mg_mmol_l, truth.age_at_scan, truth.bmi, truth.beta_ctx_ng_ml))
    fit = sm.Logit(truth.outcome.astype(float), sm.add_constant(terms)).fit(disp=0)
    for name, value in MODEL.coefficients.items():
        assert abs(fit.params[name] - value) < 4 * fit.bse[name], name
    assert abs(fit.params["const"] - MODEL.b0) < 4 * fit.bse["const"]


def test_true_auroc_is_the_auroc_of_the_true_probability(large_cohort):
    truth = large_cohort.truth.to_pandas()
    assert math.isclose(large_cohort.auroc, roc_auc_score(truth.outcome, truth.p_true), rel_tol=1e-12)
    assert 0.68 < large_cohort.auroc < 0.82


def test_t_scores_follow_the_outcome(large_cohort):
    truth = large_cohort.truth.to_pandas()
    assert ((truth.min_t_score <= -2.5) == truth.outcome).all()
    categories = truth.who_category.value_counts()
    assert {"normal", "osteopenia", "osteoporosis", "severe_osteoporosis"} == set(categories.index)
    severe = truth.outcome & truth.fragility_fracture_before
    assert categories["severe_osteoporosis"] == severe.sum()
    young = truth[(truth.age_at_scan < 50) & (truth.menopausal_status != "post")]
    assert set(young.iscd_category) == {"below_expected_range_for_age", "within_expected_range_for_age"}
    assert (young.iscd_category == "below_expected_range_for_age").sum() == (young.min_z_score <= -2.0).sum()


def test_population_resembles_the_studies(large_cohort):
    truth = large_cohort.truth.to_pandas()
    patients = truth.drop_duplicates("patient_id")
    assert 0.80 < (patients.sex == "F").mean() < 0.90
    assert 0.6 < (patients.menopausal_status == "post").mean() < 0.8
    assert 0.05 < (truth.age_at_scan < 50).mean() < 0.25
    assert truth.age_at_scan.between(25, 95).all()
    assert abs(truth.bmi.mean() - 26) < 0.5 and abs(truth.bmi.std() - 4) < 0.7
    assert 0.07 < (truth.mg_mmol_l < 0.75).mean() < 0.20
    assert abs(truth.mg_days_from_scan).max() <= 75


def test_lab_marginals_in_si_units(large_cohort):
    labs = large_cohort.labs.to_pandas()
    labs = labs[labs._role.isin(["result", "correction", "finalised"])]
    numbers = pd.to_numeric(labs.value.str.replace(",", ".").str.lstrip("<>"), errors="raise")
    factors = terminology.unit_factors()
    si = numbers * [factors[(a, u)] for a, u in zip(labs._analyte, labs._unit)]
    by = si.groupby(labs._analyte.to_numpy())
    mean, sd, median = by.mean(), by.std(), by.median()
    assert abs(mean["magnesium"] - 0.85) < 0.01 and abs(sd["magnesium"] - 0.09) < 0.015
    assert abs(mean["calcium"] - 2.35) < 0.02 and abs(sd["calcium"] - 0.12) < 0.02
    assert abs(mean["phosphate"] - 1.10) < 0.02 and abs(sd["phosphate"] - 0.18) < 0.02
    assert abs(mean["vitamin_d_25oh"] - 60) < 3 and abs(sd["vitamin_d_25oh"] - 25) < 3
    assert abs(mean["pth"] - 50) < 4 and median["pth"] < mean["pth"]          # right-skewed
    assert abs(median["crp"] - 2) < 0.3 and 0.1 < (si[labs._analyte.to_numpy() == "crp"] > 5).mean() < 0.3
    assert abs(mean["beta_ctx"] - 0.45) < 0.03 and abs(mean["p1np"] - 50) < 4
    assert abs(mean["albumin"] - 42) < 0.5 and abs(sd["albumin"] - 4) < 0.5


def test_model_inputs_are_what_the_files_say(messy_export):
    """Nearest current magnesium within 90 days (SI via the seeds), lowest T of the sides and
    sites, whole-year age and BMI, all from the written files, equal the truth per assessment."""
    out, manifest = messy_export
    labs = " UNION ALL ".join(
        f"SELECT * FROM ({_lab_checks(out / f.path)}) WHERE reason IS NULL"
        for f in manifest.files if f.kind == "labs" and f.path != "labs_overlap.csv")
    dxa = _source(out / "dxa.tsv")
    patients = _source(out / "patients.csv")
    truth = manifest.truth_assessments()
    con = duckdb.connect()
    con.register("truth", truth)
    rows = con.sql(f"""
        WITH labs AS ({labs}),
        current AS (
            SELECT patient_id, code, analyte, arg_max(status, rn) AS status, arg_max(number * factor, rn) AS si,
                   CAST(left(any_value(collected_at), 10) AS DATE) AS day
            FROM labs GROUP BY patient_id, accession_id, code, analyte),
        mg AS (SELECT * FROM current WHERE analyte = 'magnesium' AND status IN ('F', 'C', 'A')),
        scans AS (
            SELECT patient_id, CAST(scan_date AS DATE) AS scan_date,
                   min(CAST(t_score AS DOUBLE)) FILTER (WHERE site IN ('lumbar_spine_l1_l4', 'femoral_neck', 'total_hip')) AS min_t,
                   CAST(any_value(weight_kg) AS DOUBLE) / (CAST(any_value(height_cm) AS DOUBLE) / 100) ^ 2 AS bmi
            FROM {dxa} WHERE site IN (SELECT site FROM read_csv('{SEEDS_DIR}/dxa_codes.csv', all_varchar = true))
            GROUP BY ALL),
        matched AS (
            SELECT scans.patient_id, scans.scan_date, arg_min(mg.si, abs(mg.day - scans.scan_date) * 2 - (mg.day > scans.scan_date)::INT) AS mg,
                   count(*) AS in_window
            FROM scans JOIN mg ON mg.patient_id = scans.patient_id AND abs(mg.day - scans.scan_date) <= 90
            GROUP BY ALL),
        born AS (SELECT DISTINCT patient_id, CAST(birth_date AS DATE) AS birth FROM {patients}
                 WHERE TRY_CAST(birth_date AS DATE) IS NOT NULL AND patient_id LIKE 'P%')
        SELECT truth.outcome, truth.mg_mmol_l, matched.mg, matched.in_window, truth.min_t_score, scans.min_t,
               truth.bmi, scans.bmi, truth.age_at_scan, datesub('year', born.birth, scans.scan_date)
        FROM truth
        JOIN scans USING (patient_id, scan_date)
        JOIN matched USING (patient_id, scan_date)
        JOIN born USING (patient_id)""").fetchall()
    assert len(rows) == truth.num_rows
    for outcome, mg_truth, mg_file, in_window, t_truth, t_file, bmi_truth, bmi_file, age_truth, age_file in rows:
        assert in_window == 1                        # the nearest magnesium is the only one in reach
        assert math.isclose(mg_truth, mg_file, rel_tol=0, abs_tol=1e-12)
        assert t_truth == t_file and (t_file <= -2.5) == outcome
        assert math.isclose(bmi_truth, bmi_file, rel_tol=1e-12) and age_truth == age_file
    assert np.isclose(truth["p_true"].to_numpy(), MODEL.probability(
        truth["mg_mmol_l"].to_numpy(), truth["age_at_scan"].to_numpy(), truth["bmi"].to_numpy(),
        truth["beta_ctx_ng_ml"].to_numpy()), rtol=0, atol=1e-15).all()
