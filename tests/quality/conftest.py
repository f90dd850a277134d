"""Small real warehouses for the quality tests: migrated with Alembic, filled with plain SQL.

`raw_warehouse` holds a clean handful of raw rows; `mart_warehouse` adds mart tables shaped as
contract section 6 (plain SQL, no dbt) so mart suites can be tested on values chosen here; the
end-to-end test builds real marts with dbt instead.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from etl import warehouse
from etl.rules import project_vars
from etl.sqltext import literal

RAW_ROWS = [
    """INSERT INTO raw.patients (load_id, source_file, source_row, source_format, patient_id, sex,
           birth_date, menopausal_status, row_hash) VALUES
       (1, 'patients.csv', 1, 'csv', 'P1', 'F', DATE '1950-03-01', 'post', 11),
       (1, 'patients.csv', 2, 'csv', 'P2', 'M', DATE '1960-07-15', NULL, 12)""",
    """INSERT INTO raw.lab_results (load_id, source_file, source_row, source_format, patient_id,
           collected_at, code, code_system, loinc_code, value_text, value_num, unit, status, is_tracked, row_hash) VALUES
       (2, 'labs.csv', 1, 'csv', 'P1', TIMESTAMP '2024-03-01 08:00', '19123-9', 'LOINC', '19123-9', '1.6', 1.6, 'mg/dL', 'F', true, 21),
       (2, 'labs.csv', 2, 'csv', 'P2', TIMESTAMP '2024-04-10 09:30', '2601-3', 'LOINC', '2601-3', '0.85', 0.85, 'mmol/L', 'F', true, 22),
       (2, 'labs.csv', 3, 'csv', 'P2', TIMESTAMP '2024-04-10 09:30', '2601-3', 'LOINC', '2601-3', NULL, NULL, NULL, 'X', true, 23)""",
    """INSERT INTO raw.dxa_results (load_id, source_file, source_row, source_format, patient_id,
           scan_date, site, side, t_score, z_score, bmd_g_cm2, status, row_hash) VALUES
       (3, 'dxa.csv', 1, 'csv', 'P1', DATE '2024-03-05', 'lumbar_spine_l1_l4', NULL, -2.7, -1.0, 0.8, 'F', 31),
       (3, 'dxa.csv', 2, 'csv', 'P1', DATE '2024-03-05', 'femoral_neck', 'left', -2.1, -0.5, 0.6, 'F', 32),
       (3, 'dxa.csv', 3, 'csv', 'P2', DATE '2024-04-12', 'total_hip', 'right', -1.4, -0.4, 0.8, 'F', 33)""",
]

MART_TABLES = [
    "CREATE SCHEMA IF NOT EXISTS marts",
    """CREATE TABLE marts.dim_patient AS SELECT * FROM (VALUES
       ('K1', 'F', 1950, 'post'), ('K2', 'M', 1961, NULL), ('K3', 'F', 1985, 'pre'), ('K4', 'F', 1969, 'peri'))
       t(patient_key, sex, birth_year, menopausal_status)""",
    """CREATE TABLE marts.fct_bmd_assessment AS SELECT assessment_id, patient_key, scan_date::DATE AS scan_date,
           age_at_scan, t_score_lumbar_spine::DOUBLE AS t_score_lumbar_spine,
           t_score_femoral_neck::DOUBLE AS t_score_femoral_neck, t_score_total_hip::DOUBLE AS t_score_total_hip,
           min_t_score::DOUBLE AS min_t_score, min_t_score_site, NULL::DOUBLE AS t_score_radius_33, who_category,
           iscd_category FROM (VALUES
       ('A1', 'K1', '2024-03-05', 74, -2.7, -2.1, -1.8, -2.7, 'lumbar_spine_l1_l4', 'severe_osteoporosis', 'severe_osteoporosis'),
       ('A2', 'K2', '2024-04-12', 63, -0.5, -1.4, NULL, -1.4, 'femoral_neck', 'osteopenia', 'osteopenia'),
       ('A3', 'K3', '2024-05-01', 39, -1.2, NULL, NULL, -1.2, 'lumbar_spine_l1_l4', 'osteopenia', 'below_expected_range_for_age'),
       ('A4', 'K4', '2024-06-01', 55, 0.3, 0.1, 0.2, 0.1, 'femoral_neck', 'normal', 'normal'))
       t(assessment_id, patient_key, scan_date, age_at_scan, t_score_lumbar_spine, t_score_femoral_neck,
         t_score_total_hip, min_t_score, min_t_score_site, who_category, iscd_category)""",
    """CREATE TABLE marts.fct_deficiency_flags AS SELECT assessment_id, patient_key,
           mg_mmol_l::DOUBLE AS mg_mmol_l, mg_days_from_scan::INTEGER AS mg_days_from_scan, mg_deficient::BOOLEAN AS mg_deficient,
           mg_below_op_cutoff::BOOLEAN AS mg_below_op_cutoff, vitd_nmol_l::DOUBLE AS vitd_nmol_l, vitd_status::VARCHAR AS vitd_status,
           calcium_mmol_l::DOUBLE AS calcium_mmol_l, NULL::DOUBLE AS calcium_lab_corrected_mmol_l,
           hypocalcemia::BOOLEAN AS hypocalcemia,
           phosphate_mmol_l::DOUBLE AS phosphate_mmol_l, hypophosphatemia::BOOLEAN AS hypophosphatemia,
           pth_ng_l::DOUBLE AS pth_ng_l, pth_elevated::BOOLEAN AS pth_elevated,
           crp_mg_l::DOUBLE AS crp_mg_l, crp_elevated::BOOLEAN AS crp_elevated FROM (VALUES
       ('A1', 'K1', 0.66, -4, true, true, 44.9, 'deficient', 2.22, false, NULL, NULL, NULL, NULL, NULL, NULL),
       ('A2', 'K2', 0.85, -2, false, false, 60.0, 'insufficient', 2.30, false, 0.70, true, 80.0, true, 3.0, false),
       ('A3', 'K3', 0.70, 1, true, true, 80.0, 'sufficient', NULL, NULL, 1.00, false, 40.0, false, 8.0, true),
       ('A4', 'K4', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL))
       t(assessment_id, patient_key, mg_mmol_l, mg_days_from_scan, mg_deficient, mg_below_op_cutoff, vitd_nmol_l,
         vitd_status, calcium_mmol_l, hypocalcemia, phosphate_mmol_l, hypophosphatemia, pth_ng_l, pth_elevated,
         crp_mg_l, crp_elevated)""",
    """CREATE TABLE marts.fct_lab_result AS SELECT patient_key, collected_at::TIMESTAMP AS collected_at, analyte,
           loinc_code, value_si::DOUBLE AS value_si, unit_si, value_original::DOUBLE AS value_original, unit_original,
           is_plausible FROM (VALUES
       ('K1', '2024-03-01 08:00', 'magnesium', '19123-9', 0.658304, 'mmol/L', 1.6, 'mg/dL', true),
       ('K1', '2024-03-01 08:00', 'vitamin_d_25oh', '62292-8', 44.928, 'nmol/L', 18.0, 'ng/mL', true),
       ('K2', '2024-04-10 09:30', 'magnesium', '2601-3', 0.85, 'mmol/L', 0.85, 'mmol/L', true),
       ('K2', '2024-04-10 09:30', 'pth', '2731-8', 80.0, 'ng/L', 80.0, 'pg/mL', true),
       ('K3', '2024-05-02 10:00', 'phosphate', '2777-1', 0.71027, 'mmol/L', 2.2, 'mg/dL', true))
       t(patient_key, collected_at, analyte, loinc_code, value_si, unit_si, value_original, unit_original, is_plausible)""",
    """CREATE TABLE marts.mg_deficiency_prevalence AS SELECT year, sex, age_band, who_category,
           n_assessed::BIGINT AS n_assessed, n_deficient::BIGINT AS n_deficient, prevalence::DOUBLE AS prevalence,
           ci_low::DOUBLE AS ci_low, ci_high::DOUBLE AS ci_high, suppressed FROM (VALUES
       (2024, 'F', '70-79', 'severe_osteoporosis', NULL, NULL, NULL, NULL, NULL, true),
       (2024, 'M', '60-69', 'osteopenia', 12, 3, 0.25, 0.089, 0.532, false))
       t(year, sex, age_band, who_category, n_assessed, n_deficient, prevalence, ci_low, ci_high, suppressed)""",
]

# The rules a default build records (marts.rules_in_effect): the flags above follow them.
MART_TABLES.append(
    "CREATE TABLE marts.rules_in_effect AS SELECT * FROM (VALUES "
    + ", ".join(f"({literal(name)}, {literal(json.dumps(value))})" for name, value in project_vars().items())
    + ") t(rule_name, value)")

MART_SUITES = ["marts_dim_patient", "marts_fct_bmd_assessment", "marts_fct_deficiency_flags",
               "marts_fct_lab_result", "marts_mg_deficiency_prevalence"]


def execute(path: Path, *statements: str) -> None:
    with warehouse.session(path) as conn:
        for statement in statements:
            conn.execute(statement)


def query(path: Path, sql: str, parameters=None) -> list[tuple]:
    with warehouse.session(path) as conn:
        return conn.execute(sql, parameters or []).fetchall()


@pytest.fixture
def migrated_warehouse(tmp_path) -> Path:
    path = tmp_path / "osteoreg.duckdb"
    warehouse.upgrade(path)
    return path


@pytest.fixture
def raw_warehouse(migrated_warehouse) -> Path:
    execute(migrated_warehouse, *RAW_ROWS)
    return migrated_warehouse


@pytest.fixture
def mart_warehouse(migrated_warehouse) -> Path:
    execute(migrated_warehouse, *MART_TABLES)
    return migrated_warehouse
