"""The risk models' inputs through a real build: the WHO outcome columns, the pre-scan labs (never
a result collected after the scan, never whole blood) and the latest lab panel of pre-DXA triage."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


def _lab(source_row, patient, code, value, unit, collected_at, accession=None):
    return {"load_id": 3, "source_row": source_row, "patient_id": patient, "collected_at": collected_at,
            "code": code, "code_system": "LOINC", "loinc_code": code, "value_text": str(value),
            "value_num": value, "unit": unit, "status": "F", "accession_id": accession or f"A{source_row}",
            "is_tracked": True}


def _scan(source_row, patient, scan_date, t_score):
    return {"load_id": 4, "source_row": source_row, "patient_id": patient, "scan_date": scan_date,
            "site": "lumbar_spine_l1_l4", "t_score": t_score, "z_score": -1.0, "status": "F"}


@pytest.fixture(scope="module")
def built(new_raw_warehouse):
    raw = new_raw_warehouse()
    raw.patients("k1", "k2", "k3", "k4")
    raw.insert("raw.patients", [
        {"load_id": 1, "source_row": 1, "patient_id": "p1", "sex": "F", "birth_date": "1975-07-01", "menopausal_status": "post"},
        {"load_id": 1, "source_row": 2, "patient_id": "p2", "sex": "M", "birth_date": "1980-01-01"},
        {"load_id": 1, "source_row": 3, "patient_id": "p3", "sex": "F", "birth_date": "1950-05-05"},
        {"load_id": 1, "source_row": 4, "patient_id": "p4", "sex": "F", "birth_date": "1950-05-05"},
    ])
    raw.insert("raw.dxa_results", [
        _scan(1, "p1", "2024-03-10", -2.7),     # 48 years old but postmenopausal: WHO criteria apply
        _scan(2, "p2", "2024-03-10", -2.7),     # a man of 44: WHO criteria do not apply
        _scan(3, "p4", "2015-06-01", -1.5),     # p4's only scan is 9 years before her latest labs
    ])
    raw.insert("raw.lab_results", [
        # p1: magnesium 9 days before (0.80) and 2 days after the scan (0.70, nearer: the flags take it)
        _lab(1, "p1", "2601-3", 0.80, "mmol/L", "2024-03-01 08:00:00"),
        _lab(2, "p1", "2601-3", 0.70, "mmol/L", "2024-03-12 08:00:00"),
        # a whole-blood magnesium the day before: never a model input
        _lab(3, "p1", "21377-7", 0.60, "mmol/L", "2024-03-09 08:00:00"),
        # beta-CTx only after the scan (treatment lowers it): no pre-scan value
        _lab(4, "p1", "41171-0", 0.20, "ng/mL", "2024-03-20 08:00:00"),
        # vitamin D 91 days before: outside the 90-day pre-scan window; on the scan day: inside
        _lab(5, "p1", "14635-7", 40.0, "nmol/L", "2023-12-10 08:00:00"),
        _lab(6, "p2", "14635-7", 55.0, "nmol/L", "2024-03-10 07:00:00"),
        # p3 has labs and never a scan; p4 labs 9 years after her scan
        _lab(7, "p3", "2601-3", 0.72, "mmol/L", "2024-05-01 08:00:00"),
        _lab(8, "p3", "41171-0", 0.65, "ng/mL", "2024-06-01 08:00:00"),
        _lab(9, "p4", "2601-3", 0.90, "mmol/L", "2024-06-01 08:00:00"),
    ])
    raw.build()
    return raw


def test_outcome_columns_follow_the_who_seed_and_the_iscd_rule(built):
    assert built.query("""
        SELECT patient_key, who_category, is_densitometric_osteoporosis, who_criteria_apply, iscd_category
        FROM marts.fct_bmd_assessment ORDER BY patient_key""") == [
        ("k1", "osteoporosis", True, True, "osteoporosis"),
        ("k2", "osteoporosis", True, False, "within_expected_range_for_age"),
        ("k4", "osteopenia", False, True, "osteopenia"),
    ]


def test_prescan_labs_take_nothing_after_the_scan(built):
    row = built.query("""
        SELECT mg_mmol_l, mg_days_before_scan, mg_below_op_cutoff, beta_ctx_ng_ml, beta_ctx_days_before_scan,
               vitd_nmol_l, vitd_days_before_scan
        FROM marts.fct_prescan_labs WHERE patient_key = 'k1'""")
    assert row == [(0.80, 9, True, None, None, None, None)]
    # the descriptive two-sided match still takes the nearer post-scan results
    assert built.query("SELECT beta_ctx_ng_ml, beta_ctx_days_from_scan FROM marts.fct_deficiency_flags "
                       "WHERE patient_key = 'k1'") == [(0.20, 10)]
    assert built.query("SELECT vitd_nmol_l, vitd_days_before_scan FROM marts.fct_prescan_labs "
                       "WHERE patient_key = 'k2'") == [(55.0, 0)]


def test_latest_lab_panel_marks_patients_without_a_recent_dxa(built):
    assert built.query("""
        SELECT patient_key, index_date::VARCHAR, age_at_index, is_dxa_referral_candidate, mg_mmol_l,
               mg_days_before_index, beta_ctx_ng_ml, last_scan_on_or_before_index::VARCHAR
        FROM marts.fct_latest_lab_panel ORDER BY patient_key""") == [
        ("k1", "2024-03-20", 48, False, 0.70, 8, 0.20, "2024-03-10"),
        ("k2", "2024-03-10", 44, False, None, None, None, "2024-03-10"),
        ("k3", "2024-06-01", 74, True, 0.72, 31, 0.65, None),
        ("k4", "2024-06-01", 74, True, 0.90, 0, None, "2015-06-01"),
    ]
