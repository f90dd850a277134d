"""Warehouses for the scoring tests, all real: Alembic migrations, DuckDB files, dbt-built marts.

`cohort` is built once per session from the synthetic generator (4,000 patients, clean exports,
seed 4: on the assessments where the WHO criteria apply, the drawn cohort's own maximum-likelihood
estimates in the truth's own form lie within 1.2 standard errors of the generating effects, so
a sound pipeline's 95% intervals should cover them; seed 1 has age 1.8 SE off). Tests that write get their own copy of the file. `small_marts` holds hand-written mart
rows (plain SQL, no dbt) for exact values and refusals.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from etl import warehouse

from ..warehouses import copy_warehouse

COHORT_PATIENTS = 4000
COHORT_SEED = 4


@dataclass
class Cohort:
    path: Path
    manifest: object

    def copy_to(self, folder: Path) -> Path:
        return copy_warehouse(self.path, folder)


@pytest.fixture(scope="session")
def cohort(tmp_path_factory) -> Cohort:
    from etl.build import build
    from etl.ingest.loader import ingest_paths
    from etl.synth.flat import write_flat

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OSTEOREG_SECRET", "scoring-test-secret-of-at-least-32-characters")
        root = tmp_path_factory.mktemp("scoring_cohort")
        manifest = write_flat(root / "input", n_patients=COHORT_PATIENTS, seed=COHORT_SEED, messy=False)
        path = root / "osteoreg.duckdb"
        ingest_paths(path, [root / "input"])
        # dbt's own unit tests are the dbt suite's business; the marts are what scoring reads
        build(path, exclude="resource_type:unit_test")
    return Cohort(path=path, manifest=manifest)


@pytest.fixture(scope="session")
def scored_cohort(cohort, tmp_path_factory):
    """A copy of the cohort scored once, with the run's result, for read-only assertions."""
    from etl.scoring.runner import score

    path = cohort.copy_to(tmp_path_factory.mktemp("scored_cohort"))
    run = score(path)
    return path, run


def rows(path: Path, sql: str, parameters=None) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as conn:
        return conn.execute(sql, parameters or []).fetchall()


# Hand-written marts: the columns scoring reads, typed as dbt builds them.
ASSESSMENT_COLUMNS = ("assessment_id", "patient_key", "scan_date", "age_at_scan", "sex", "menopausal_status",
                      "weight_kg", "bmi", "who_category")
LAB_COLUMNS = ("assessment_id", "mg_mmol_l", "phosphate_mmol_l", "calcium_mmol_l", "vitd_nmol_l", "pth_ng_l",
               "crp_mg_l", "beta_ctx_ng_ml", "p1np_ng_ml")


def small_marts_sql(assessments: list[tuple], labs: list[tuple]) -> list[str]:
    """assessments: (assessment_id, patient_key, scan_date, age, sex, menopausal_status, weight_kg, bmi,
    who_category); labs: (assessment_id, mg, phosphate, calcium, vitd, pth, crp, beta_ctx, p1np), the
    pre-scan values (all collected 3 days before the scan). The outcome columns follow the seed
    and the ISCD rule as dbt computes them (age >= 50 or postmenopausal)."""
    def literal(value):
        if value is None:
            return "NULL"
        return f"'{value}'" if isinstance(value, str) else repr(value)

    def values(rows_):
        return ",\n".join("(" + ", ".join(literal(v) for v in row) + ")" for row in rows_)

    rules = {"who_osteoporosis_t_score_max": -2.5, "iscd_who_applies_from_age": 50, "prescan_lab_window_days": 90,
             "mg_op_cutoff_at_or_below_mmol_l": 0.845, "triage_no_dxa_within_years": 5}
    rule_rows = ", ".join(f"('{name}', '{value}')" for name, value in rules.items())
    return [
        "CREATE SCHEMA IF NOT EXISTS marts",
        f"""CREATE TABLE marts.rules_in_effect AS SELECT rule_name::VARCHAR AS rule_name, value::VARCHAR AS value,
               NULL::VARCHAR AS unit, NULL::VARCHAR AS source, TIMESTAMP '2026-12-01' AS built_at,
               'small-marts' AS dbt_invocation_id, 'test' AS osteoreg_version, 'test' AS dbt_version, 0 AS max_load_id
           FROM (VALUES {rule_rows}) t(rule_name, value)""",
        f"""CREATE TABLE marts.fct_bmd_assessment AS SELECT assessment_id::VARCHAR AS assessment_id,
               patient_key::VARCHAR AS patient_key, scan_date::DATE AS scan_date, age_at_scan::INTEGER AS age_at_scan,
               sex::VARCHAR AS sex, menopausal_status::VARCHAR AS menopausal_status,
               weight_kg::DOUBLE AS weight_kg, bmi::DOUBLE AS bmi, who_category::VARCHAR AS who_category,
               CASE WHEN who_category IS NOT NULL
                    THEN who_category IN ('osteoporosis', 'severe_osteoporosis') END AS is_densitometric_osteoporosis,
               coalesce(age_at_scan >= 50 OR (sex = 'F' AND menopausal_status = 'post'), false) AS who_criteria_apply
           FROM (VALUES {values(assessments)}) t({", ".join(ASSESSMENT_COLUMNS)})""",
        f"""CREATE TABLE marts.fct_prescan_labs AS SELECT labs.assessment_id::VARCHAR AS assessment_id,
               a.patient_key, a.scan_date,
               mg_mmol_l::DOUBLE AS mg_mmol_l, phosphate_mmol_l::DOUBLE AS phosphate_mmol_l,
               calcium_mmol_l::DOUBLE AS calcium_mmol_l, vitd_nmol_l::DOUBLE AS vitd_nmol_l, pth_ng_l::DOUBLE AS pth_ng_l,
               crp_mg_l::DOUBLE AS crp_mg_l, beta_ctx_ng_ml::DOUBLE AS beta_ctx_ng_ml, p1np_ng_ml::DOUBLE AS p1np_ng_ml,
               CASE WHEN mg_mmol_l IS NOT NULL THEN 3 END AS mg_days_before_scan,
               CASE WHEN beta_ctx_ng_ml IS NOT NULL THEN 3 END AS beta_ctx_days_before_scan,
               CASE WHEN vitd_nmol_l IS NOT NULL THEN 3 END AS vitd_days_before_scan,
               CASE WHEN p1np_ng_ml IS NOT NULL THEN 3 END AS p1np_days_before_scan,
               mg_mmol_l::DOUBLE <= 0.845 AS mg_below_op_cutoff
           FROM (VALUES {values(labs)}) labs({", ".join(LAB_COLUMNS)})
           JOIN marts.fct_bmd_assessment AS a ON a.assessment_id = labs.assessment_id""",
    ]


@pytest.fixture
def make_small_marts(tmp_path):
    def make(assessments: list[tuple], labs: list[tuple]) -> Path:
        path = tmp_path / "small" / "osteoreg.duckdb"
        warehouse.upgrade(path)
        with warehouse.session(path) as conn:
            for statement in small_marts_sql(assessments, labs):
                conn.execute(statement).fetchall()
        return path

    return make
