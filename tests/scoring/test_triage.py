"""Pre-DXA triage through real files, a real build and an imported model: the referral table
lists the patients with labs and no recent DXA, and only them, ranked, with their drivers."""
from __future__ import annotations

import pytest

from etl.build import build
from etl.ingest.loader import ingest_paths
from etl.scoring import store
from etl.scoring.runner import import_model, score

from .conftest import rows

pytestmark = pytest.mark.slow

PATIENTS = """patient_id,sex,birth_date,menopausal_status
T1,F,1950-03-01,post
T2,F,1948-07-01,post
T3,F,1952-01-15,post
T4,F,1949-05-05,post
T5,M,,
"""
# T1 labs only; T2 labs and a scan the year before; T3 labs eight years after her only scan;
# T4 a scan and no labs; T5 labs only, no birth date (age imputed by the model).
LABS = """patient_id,collected_at,code,value,unit
T1,2024-05-01,2601-3,0.70,mmol/L
T1,2024-05-20,41171-0,0.60,ng/mL
T2,2024-05-01,2601-3,0.72,mmol/L
T3,2023-11-02,2601-3,0.90,mmol/L
T3,2024-02-10,2601-3,0.95,mmol/L
T5,2024-04-01,2601-3,0.66,mmol/L
"""
DXA = """patient_id,scan_date,site,t_score
T2,2023-06-01,lumbar_spine_l1_l4,-2.0
T3,2016-01-10,lumbar_spine_l1_l4,-1.0
T4,2024-01-10,lumbar_spine_l1_l4,-2.8
"""
PARAMETERS = {
    "model": "local_lasso", "kind": "logistic", "intercept": -1.0,
    "terms": [{"name": "age_years", "column": "age_years", "transform": "linear", "variable": "age_years",
               "coefficient": 0.05, "impute": 65.0},
              {"name": "mg_mmol_l", "column": "mg_mmol_l", "transform": "linear", "variable": "mg_mmol_l",
               "coefficient": -4.0, "impute": 0.85},
              {"name": "beta_ctx_ng_ml", "column": "beta_ctx_ng_ml", "transform": "linear",
               "variable": "beta_ctx_ng_ml", "coefficient": 1.0, "impute": 0.45}],
    "bands": {"on": "probability", "ranges": [{"label": "low", "below": 0.2}, {"label": "moderate", "below": 0.5},
                                              {"label": "high"}]},
    "missing_rule": "median_imputation_with_indicator",
}


@pytest.fixture(scope="module")
def triaged(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OSTEOREG_SECRET", "triage-test-secret-of-at-least-32-characters")
        root = tmp_path_factory.mktemp("triage")
        for name, text in (("patients.csv", PATIENTS), ("labs.csv", LABS), ("dxa.csv", DXA)):
            (root / "input").mkdir(exist_ok=True)
            (root / "input" / name).write_text(text, encoding="utf-8")
        path = root / "osteoreg.duckdb"
        ingest_paths(path, [root / "input"])
        build(path, exclude="resource_type:unit_test")
        model = store.StoredModel(name="local_lasso", version=store.version_of(PARAMETERS),
                                  parameters=store.canonical(PARAMETERS), metrics=None, card=None, fingerprint=None,
                                  origin="imported")
        import_model(path, store.write_document(model, root / "model.json"))
        run = score(path)
        keys = dict(rows(path, "SELECT patient_id, patient_key FROM identity.patient_map"))
    return path, run, keys


def test_triage_lists_patients_without_a_recent_dxa_and_only_them(triaged):
    path, run, keys = triaged
    assert run.triage_model == "local_lasso" and run.triage_candidates == 3
    listed = rows(path, "SELECT patient_key, index_date::VARCHAR, referral_rank FROM scoring.dxa_referral_candidates "
                        "ORDER BY referral_rank")
    by_key = {key: patient for patient, key in keys.items()}
    assert {by_key[key]: (date, rank) for key, date, rank in listed} == {
        "T1": ("2024-05-20", 1), "T5": ("2024-04-01", 2), "T3": ("2024-02-10", 3)}


def test_candidates_are_scored_at_their_latest_panel_with_drivers(triaged):
    path, _, keys = triaged
    got = dict((key, (score, probability, band, drivers)) for key, score, probability, band, drivers in rows(
        path, "SELECT patient_key, score, risk_probability, risk_band, drivers FROM scoring.dxa_referral_candidates"))
    # T1 at 2024-05-20: age 74, Mg 0.70 (19 days before), beta-CTx 0.60: -1 + 3.7 - 2.8 + 0.6 = 0.5
    score_t1, probability_t1, band_t1, drivers_t1 = got[keys["T1"]]
    assert score_t1 == pytest.approx(0.5, abs=1e-6)
    assert band_t1 == "high" and probability_t1 == pytest.approx(0.622459, abs=1e-6)
    assert drivers_t1 == "age_years, beta_ctx_ng_ml"          # the terms that raise the score
    # T3 at 2024-02-10: Mg 0.95 (the later panel), age 72: -1 + 3.6 - 3.8 + 0.45 = -0.75
    assert got[keys["T3"]][0] == pytest.approx(-0.75, abs=1e-6)
    # T5: no birth date, so age takes the model's 65: -1 + 3.25 - 2.64 + 0.45 = 0.06
    assert got[keys["T5"]][0] == pytest.approx(0.06, abs=1e-6)
