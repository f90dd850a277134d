"""Raw rows written by hand through a real build: the contract's rules as the marts show them."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


def _lab(source_row, code, value, unit, collected_at, status="F", accession="A1", load_id=3, patient="p1"):
    return {"load_id": load_id, "source_row": source_row, "patient_id": patient, "collected_at": collected_at,
            "code": code, "code_system": "LOINC", "loinc_code": code, "value_text": str(value),
            "value_num": value, "unit": unit, "status": status, "accession_id": accession, "is_tracked": True}


@pytest.fixture(scope="module")
def built(new_raw_warehouse):
    raw = new_raw_warehouse()
    raw.patients("k1", "k2")
    raw.insert("raw.patients", [
        # re-delivered: the later delivery (load 2) wins
        {"load_id": 1, "source_row": 1, "patient_id": "p1", "sex": "F", "birth_date": "1960-07-01", "menopausal_status": "peri"},
        {"load_id": 2, "source_row": 1, "patient_id": "p1", "sex": "female", "birth_date": "1960-07-01", "menopausal_status": "post"},
        {"load_id": 1, "source_row": 2, "patient_id": "p2", "sex": "X", "birth_date": "1990-01-01"},
    ])
    raw.insert("raw.dxa_results", [
        {"load_id": 4, "source_row": 1, "patient_id": "p1", "scan_date": "2024-03-10", "site": "lumbar_spine_l1_l4", "t_score": -2.1, "z_score": -1.0, "status": "F"},
        {"load_id": 4, "source_row": 2, "patient_id": "p1", "scan_date": "2024-03-10", "site": "femoral_neck", "side": "left", "t_score": -2.4, "status": "F"},
        {"load_id": 4, "source_row": 3, "patient_id": "p1", "scan_date": "2024-03-10", "site": "femoral_neck", "side": "right", "t_score": -2.6, "status": "F"},
        # a corrected T-score (C) replaces the first delivery of the same site and side
        {"load_id": 5, "source_row": 1, "patient_id": "p1", "scan_date": "2024-03-10", "site": "femoral_neck", "side": "right", "t_score": -2.3, "status": "C"},
        # an implausible T-score never becomes the minimum
        {"load_id": 4, "source_row": 4, "patient_id": "p1", "scan_date": "2024-03-10", "site": "total_hip", "side": "left", "t_score": -9.5, "status": "F"},
    ])
    raw.insert("raw.lab_results", [
        # magnesium exactly 0.75 mmol/L sent in mg/dL: not deficient, below the 0.845 cut-off
        _lab(1, "19123-9", 1.822866, "MG/DL", "2024-03-01 08:00:00"),
        # an implausible magnesium nearer to the scan: kept in fct_lab_result, never matched
        _lab(2, "2601-3", 12.0, "mmol/L", "2024-03-09 08:00:00", accession="A2"),
        # calcium 2.05 with albumin 30 g/L (3.0 g/dL) the same day: Payne 2.25, no hypocalcemia
        _lab(3, "2000-8", 2.05, "mmol/l", "2024-03-01 08:00:00"),
        _lab(4, "1751-7", 3.0, "g/dL", "2024-03-01 07:30:00"),
        # vitamin D 20 ng/mL = 49.92 nmol/L: deficient
        _lab(5, "62292-8", 20, "ng/ml", "2024-03-01 08:00:00"),
        # PTH sent preliminary only: never shown, pth_elevated stays empty
        _lab(6, "2731-8", 99, "pg/mL", "2024-03-01 08:00:00", status="P"),
    ])
    raw.build()
    return raw


def test_dim_patient_takes_the_latest_delivery_and_maps_sex(built):
    assert built.query("SELECT patient_key, sex, birth_year, menopausal_status FROM marts.dim_patient ORDER BY 1") == [
        ("k1", "F", 1960, "post"), ("k2", "unknown", 1990, None)]


def test_marts_carry_no_source_ids_or_birth_dates(built):
    columns = {c for (c,) in built.query(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'marts'")}
    assert not columns & {"patient_id", "birth_date", "accession_id", "source_file"}


def test_fct_lab_result_is_in_si_with_the_original_kept(built):
    rows = built.query("""
        SELECT analyte, value_si, unit_si, value_original, unit_original, is_plausible
        FROM marts.fct_lab_result ORDER BY source_row""")
    assert rows == [
        ("magnesium", 0.75, "mmol/L", 1.822866, "MG/DL", True),
        ("magnesium", 12.0, "mmol/L", 12.0, "mmol/L", False),
        ("calcium", 2.05, "mmol/L", 2.05, "mmol/l", True),
        ("albumin", 30.0, "g/L", 3.0, "g/dL", True),
        ("vitamin_d_25oh", 49.92, "nmol/L", 20.0, "ng/ml", True),
    ]


def test_bmd_assessment_takes_the_corrected_lower_side_and_skips_implausible(built):
    row = built.query("""
        SELECT assessment_id, age_at_scan, t_score_lumbar_spine, t_score_femoral_neck, t_score_total_hip,
               min_t_score, min_t_score_site, who_category, iscd_category, has_implausible_value
        FROM marts.fct_bmd_assessment""")
    assert row == [("k1-20240310", 63, -2.1, -2.4, None, -2.4, "femoral_neck", "osteopenia", "osteopenia", True)]


def test_flags_use_plausible_final_results_only(built):
    row = built.query("""
        SELECT mg_mmol_l, mg_days_from_scan, mg_deficient, mg_below_op_cutoff, vitd_nmol_l, vitd_status,
               calcium_mmol_l, albumin_g_l, calcium_corrected_mmol_l, hypocalcemia, pth_ng_l, pth_elevated
        FROM marts.fct_deficiency_flags""")
    assert row == [(0.75, -9, False, True, 49.92, "deficient", 2.05, 30.0, 2.25, False, None, None)]
