"""What the report reads from the published snapshot, as small frames (one row per patient or
per cell, never per lab result), with set-based SQL doing the selection and counting.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pandas as pd


# The WHO categories in clinical order (the strings of marts.fct_bmd_assessment.who_category).
WHO_CATEGORIES = ("normal", "osteopenia", "osteoporosis", "severe_osteoporosis")

# Each patient's latest assessment with a WHO category, with the labs matched to it: the
# cross-sectional unit of both studies (one row per patient keeps the tests' independence).
ANALYSIS_SET = """
SELECT
    a.assessment_id, a.patient_key, a.scan_date, a.age_at_scan, a.sex, a.who_category,
    a.min_t_score, a.bmd_lumbar_spine, a.bmd_femoral_neck, a.bmd_total_hip, a.bmi,
    f.mg_mmol_l, f.mg_deficient, f.mg_below_op_cutoff, f.vitd_nmol_l, f.vitd_status,
    f.calcium_mmol_l, f.phosphate_mmol_l, f.pth_ng_l, f.crp_mg_l, f.beta_ctx_ng_ml, f.p1np_ng_ml
FROM marts.fct_bmd_assessment AS a
LEFT JOIN marts.fct_deficiency_flags AS f ON f.assessment_id = a.assessment_id
WHERE a.who_category IS NOT NULL
QUALIFY row_number() OVER (PARTITION BY a.patient_key ORDER BY a.scan_date DESC, a.assessment_id DESC) = 1
"""


def age_band_labels(conn) -> list[str]:
    """The bands as the marts label them (dbt macro `age_band`), youngest first."""
    rows = conn.execute("""SELECT age_band FROM marts.fct_bmd_assessment WHERE age_band IS NOT NULL
                           GROUP BY age_band ORDER BY min(age_at_scan)""").fetchall()
    return [row[0] for row in rows]


@dataclass
class Overview:
    patients: int
    assessments: int
    lab_results: int
    loads: int
    loads_failed: int
    rows_read: int
    rows_loaded: int
    rows_quarantined: int
    rows_duplicate: int
    last_load: datetime | None
    first_scan: object
    last_scan: object
    published_at: datetime | None
    quality_run_id: int | None
    quality_status: str | None
    quality_finished_at: datetime | None
    quality_checks: int | None
    quality_failed: int | None
    quality_critical_failed: int | None
    quality_failures: list[tuple]


def _one(conn, sql: str) -> tuple:
    rows = conn.execute(sql).fetchall()
    return rows[0] if rows else ()


def _exists(conn, schema: str, table: str) -> bool:
    return conn.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
                        [schema, table]).fetchall()[0][0] > 0


def overview(conn) -> Overview:
    patients, = _one(conn, "SELECT count(*) FROM marts.dim_patient")
    assessments, first_scan, last_scan = _one(
        conn, "SELECT count(*), min(scan_date), max(scan_date) FROM marts.fct_bmd_assessment")
    lab_results, = _one(conn, "SELECT count(*) FROM marts.fct_lab_result")
    loads = _one(conn, """SELECT count(*), count(*) FILTER (WHERE status = 'failed'),
        coalesce(sum(rows_read), 0), coalesce(sum(rows_loaded), 0), coalesce(sum(rows_quarantined), 0),
        coalesce(sum(rows_duplicate), 0), max(finished_at) FROM audit.loads""")
    published_at = _one(conn, "SELECT max(published_at) FROM main.snapshot_info")[0] \
        if _exists(conn, "main", "snapshot_info") else None
    run = _one(conn, """SELECT run_id, status, finished_at, checks, checks_failed, critical_failed
        FROM audit.quality_runs ORDER BY finished_at DESC, run_id DESC LIMIT 1""") \
        if _exists(conn, "audit", "quality_runs") else ()
    failures = []
    if run:
        failures = conn.execute("""SELECT suite, expectation_type, table_name, column_name, severity,
            unexpected_count FROM audit.quality_results WHERE run_id = ? AND status <> 'passed'
            AND status <> 'skipped' ORDER BY severity, suite, check_key""", [run[0]]).fetchall()
    return Overview(
        patients=patients, assessments=assessments, lab_results=lab_results,
        loads=loads[0], loads_failed=loads[1], rows_read=int(loads[2]), rows_loaded=int(loads[3]),
        rows_quarantined=int(loads[4]), rows_duplicate=int(loads[5]), last_load=loads[6],
        first_scan=first_scan, last_scan=last_scan, published_at=published_at,
        quality_run_id=run[0] if run else None, quality_status=run[1] if run else None,
        quality_finished_at=run[2] if run else None, quality_checks=run[3] if run else None,
        quality_failed=run[4] if run else None, quality_critical_failed=run[5] if run else None,
        quality_failures=failures)


def analysis_set(conn) -> pd.DataFrame:
    return conn.sql(ANALYSIS_SET).df()


def prevalence_by_year(conn) -> pd.DataFrame:
    return conn.sql("SELECT * FROM marts.mg_deficiency_prevalence_by_year ORDER BY year").df()


def prevalence_by_category_and_age(conn) -> list[dict]:
    """The grid mart (WHO category x age band with both margins), as published."""
    cursor = conn.execute("SELECT * FROM marts.mg_deficiency_by_category_age")
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def current_models(conn) -> list[dict]:
    """The current version of each risk model with its card and metrics (JSON decoded)."""
    import json

    if not _exists(conn, "scoring", "models"):
        return []
    rows = conn.execute("""SELECT model_name, model_version, origin, created_at, model_card, metrics
        FROM scoring.models WHERE is_current ORDER BY model_name""").fetchall()
    return [{"model_name": name, "model_version": version, "origin": origin, "created_at": created,
             "card": json.loads(card) if card else {}, "metrics": json.loads(metrics) if metrics else {}}
            for name, version, origin, created, card, metrics in rows]


def calibration_frame(conn, outcome_categories: tuple[str, ...]) -> pd.DataFrame:
    """Each current model's predicted probability beside the observed outcome of its assessment."""
    if not _exists(conn, "scoring", "current_risk_scores"):
        return pd.DataFrame(columns=["model_name", "risk_probability", "outcome"])
    categories = ", ".join(f"'{category}'" for category in outcome_categories)
    return conn.sql(f"""
        SELECT s.model_name, s.risk_probability, a.who_category IN ({categories}) AS outcome
        FROM scoring.current_risk_scores AS s
        JOIN marts.fct_bmd_assessment AS a ON a.assessment_id = s.assessment_id
        WHERE s.risk_probability IS NOT NULL AND a.who_category IS NOT NULL""").df()
