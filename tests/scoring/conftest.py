"""Warehouses for the scoring tests, all real: Alembic migrations, DuckDB files, dbt-built marts.

`cohort` is built once per session from the synthetic generator (4,000 patients, clean exports,
seed 1: the drawn cohort's own maximum-likelihood estimates of the four generating coefficients
lie within 0.6 standard errors of the truth, so a correct fit's 95% intervals must cover them).
Tests that write get their own copy of the file. `small_marts` holds hand-written mart rows
(plain SQL, no dbt) for exact values and refusals.
"""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from etl import warehouse

COHORT_PATIENTS = 4000
COHORT_SEED = 1


@dataclass
class Cohort:
    path: Path
    manifest: object

    def copy_to(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / self.path.name
        shutil.copy(self.path, target)
        return target


@pytest.fixture(scope="session")
def cohort(tmp_path_factory) -> Cohort:
    from etl.build import build
    from etl.ingest.loader import ingest_paths
    from etl.synth.flat import write_flat

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OSTEOREG_SECRET", "scoring-test-secret")
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
def small_marts_sql(assessments: list[tuple], labs: list[tuple]) -> list[str]:
    """assessments: (assessment_id, patient_key, scan_date, age, weight_kg, bmi, who_category);
    labs: (assessment_id, mg, phosphate, calcium, vitd, pth, crp, beta_ctx, p1np)."""
    def literal(value):
        if value is None:
            return "NULL"
        return f"'{value}'" if isinstance(value, str) else repr(value)

    def values(rows_):
        return ",\n".join("(" + ", ".join(literal(v) for v in row) + ")" for row in rows_)

    return [
        "CREATE SCHEMA IF NOT EXISTS marts",
        f"""CREATE TABLE marts.fct_bmd_assessment AS SELECT assessment_id::VARCHAR AS assessment_id,
               patient_key::VARCHAR AS patient_key, scan_date::DATE AS scan_date, age_at_scan::INTEGER AS age_at_scan,
               weight_kg::DOUBLE AS weight_kg, bmi::DOUBLE AS bmi, who_category::VARCHAR AS who_category
           FROM (VALUES {values(assessments)})
           t(assessment_id, patient_key, scan_date, age_at_scan, weight_kg, bmi, who_category)""",
        f"""CREATE TABLE marts.fct_deficiency_flags AS SELECT assessment_id::VARCHAR AS assessment_id,
               mg_mmol_l::DOUBLE AS mg_mmol_l, phosphate_mmol_l::DOUBLE AS phosphate_mmol_l,
               calcium_mmol_l::DOUBLE AS calcium_mmol_l, vitd_nmol_l::DOUBLE AS vitd_nmol_l, pth_ng_l::DOUBLE AS pth_ng_l,
               crp_mg_l::DOUBLE AS crp_mg_l, beta_ctx_ng_ml::DOUBLE AS beta_ctx_ng_ml, p1np_ng_ml::DOUBLE AS p1np_ng_ml
           FROM (VALUES {values(labs)})
           t(assessment_id, mg_mmol_l, phosphate_mmol_l, calcium_mmol_l, vitd_nmol_l, pth_ng_l, crp_mg_l,
             beta_ctx_ng_ml, p1np_ng_ml)""",
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
