"""What the report reads from the published snapshot, as small frames (one row per patient or
per cell, never per lab result), with set-based SQL doing the selection and counting.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd

from .. import terminology

# The WHO categories in clinical order (seed who_categories; the strings of
# marts.fct_bmd_assessment.who_category). Table 1 groups patients by the category that applies
# (iscd_category: the WHO category where WHO criteria apply, else ISCD 2019's Z-score categories,
# named by the dbt macro), so no figure reads as "osteoporosis under 50" for people the WHO
# criteria were never meant for.
WHO_CATEGORIES = terminology.who_categories()

# The matched laboratory values of marts.fct_deficiency_flags (one per analyte).
MATCHED_LABS = ("mg_mmol_l", "vitd_nmol_l", "calcium_mmol_l", "albumin_g_l", "phosphate_mmol_l", "pth_ng_l",
                "crp_mg_l", "beta_ctx_ng_ml", "p1np_ng_ml")

SQL_DIR = Path(__file__).resolve().parent / "sql"
# Each patient's latest assessment with a WHO category, with the labs matched to it: the
# cross-sectional unit of both studies (one row per patient keeps the tests' independence).
ANALYSIS_SET = (SQL_DIR / "analysis_set.sql").read_text(encoding="utf-8")


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
    # What the analyses lack, so the page can say so rather than show empty tables
    assessments_with_labs: int = 0
    assessments_with_magnesium: int = 0
    assessments_without_category: int = 0
    patients_without_birth_year: int = 0


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
    missing = _one(conn, f"""SELECT
        (SELECT count(*) FROM marts.fct_deficiency_flags WHERE {' OR '.join(f'{c} IS NOT NULL' for c in MATCHED_LABS)}),
        (SELECT count(*) FROM marts.fct_deficiency_flags WHERE mg_mmol_l IS NOT NULL),
        (SELECT count(*) FROM marts.fct_bmd_assessment WHERE who_category IS NULL),
        (SELECT count(*) FROM marts.dim_patient WHERE birth_year IS NULL)""")
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
        quality_failures=failures, assessments_with_labs=missing[0], assessments_with_magnesium=missing[1],
        assessments_without_category=missing[2], patients_without_birth_year=missing[3])


def headline_year(by_year: pd.DataFrame, last_scan) -> tuple[int | None, bool]:
    """The year a headline quotes and whether it is partial.

    The latest shown (not suppressed) calendar year that is complete, meaning the registry has
    scans after it; a year the data stop in may hold a few weeks of scans (issue 12: "2025, n =
    40"). When no shown year is complete, the latest shown year, marked partial.
    """
    shown = by_year[~by_year["suppressed"].astype(bool)]
    if not len(shown):
        return None, False
    complete = shown[shown["year"] < last_scan.year] if last_scan is not None else shown.iloc[0:0]
    if len(complete):
        return int(complete["year"].iloc[-1]), False
    return int(shown["year"].iloc[-1]), True


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


def calibration_frame(conn) -> pd.DataFrame:
    """Each current model's estimated probability beside the mart's outcome of its assessment,
    where the WHO criteria apply (the models' outcome, fct_bmd_assessment)."""
    if not _exists(conn, "scoring", "current_risk_scores"):
        return pd.DataFrame(columns=["model_name", "risk_probability", "outcome"])
    return conn.sql("""
        SELECT s.model_name, s.risk_probability, a.is_densitometric_osteoporosis AS outcome
        FROM scoring.current_risk_scores AS s
        JOIN marts.fct_bmd_assessment AS a ON a.assessment_id = s.assessment_id
        WHERE s.risk_probability IS NOT NULL AND a.who_criteria_apply
          AND a.is_densitometric_osteoporosis IS NOT NULL""").df()


def triage_size(conn) -> dict | None:
    """How many DXA referral candidates the triage table holds, and by which model (the table
    itself is restricted: patient-level)."""
    if not _exists(conn, "scoring", "dxa_referral_candidates"):
        return None
    n, model = conn.execute("SELECT count(*), any_value(model_name) FROM scoring.dxa_referral_candidates").fetchall()[0]
    return {"n": int(n), "model": model}
