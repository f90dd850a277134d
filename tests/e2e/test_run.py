"""`osteoreg run` end to end: ingest, build, check, score, publish; and the quality gate stops it."""
from __future__ import annotations

import os
import subprocess
import sys

import duckdb
import pytest

from etl.synth.flat import write_flat

pytestmark = pytest.mark.slow


def osteoreg(*args):
    env = {**os.environ, "OSTEOREG_SECRET": "run-secret-of-at-least-32-characters"}
    return subprocess.run([sys.executable, "-m", "etl.cli", *args], capture_output=True, text=True, env=env,
                          timeout=600)


def test_run_scores_and_publishes_then_a_critical_failure_stops_before_scoring(tmp_path):
    cohort = tmp_path / "cohort"
    write_flat(cohort, n_patients=300, seed=11, messy=False)
    warehouse = tmp_path / "wh" / "osteoreg.duckdb"

    first = osteoreg("run", str(cohort), "--warehouse", str(warehouse))
    assert first.returncode == 0, first.stderr
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        assessments = conn.execute("SELECT count(*) FROM marts.fct_bmd_assessment").fetchall()[0][0]
        scored = conn.execute("SELECT model_name, count(*) FROM scoring.risk_scores GROUP BY ALL ORDER BY 1").fetchall()
    assert assessments > 0
    assert [name for name, _ in scored] == ["local_lasso", "ost", "shi2026_abstract_ors"]
    assert dict(scored)["local_lasso"] == assessments
    snapshot = warehouse.with_name("osteoreg.snapshot.duckdb")
    with duckdb.connect(str(snapshot), read_only=True) as conn:
        assert conn.execute("SELECT count(*) FROM marts.fct_bmd_assessment").fetchall()[0][0] == assessments

    # Moving a fitted model: export, then import into the same registry, where it is already there.
    model_file = tmp_path / "local_lasso.json"
    exported = osteoreg("score", "--export-model", "local_lasso", str(model_file), "--warehouse", str(warehouse))
    assert exported.returncode == 0, exported.stderr
    version = dict((r[0], r[1]) for r in duckdb.connect(str(snapshot), read_only=True).execute(
        "SELECT model_name, model_version FROM scoring.models WHERE is_current").fetchall())["local_lasso"]
    assert version in model_file.read_text()
    imported = osteoreg("score", "--import-model", str(model_file), "--warehouse", str(warehouse))
    assert imported.returncode == 0, imported.stderr
    assert f"Model local_lasso version {version} was already present and is current." in " ".join(imported.stdout.split())
    again = osteoreg("score", "--warehouse", str(warehouse))
    assert again.returncode == 0 and "new version" not in again.stdout

    # A result dated in the future passes ingest (it is well-formed) but fails a critical check.
    late = tmp_path / "late" / "labs_late.csv"
    late.parent.mkdir()
    late.write_text("patient_id,collected_at,code,value,unit,accession_id\n"
                    "P0000001,2099-01-01T08:00:00,2601-3,0.81,mmol/L,FUTURE-1\n")
    second = osteoreg("run", str(late), "--warehouse", str(warehouse))
    assert second.returncode == 1
    message = " ".join(second.stderr.split())
    assert "critical quality check(s) failed" in message and "collected_at" in message
    assert "Risk models" not in second.stdout  # stopped before scoring
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        failed = conn.execute("""SELECT count(*) FROM audit.quality_results
                                 WHERE NOT success AND severity = 'critical'""").fetchall()[0][0]
    assert failed >= 1


def test_a_model_that_cannot_be_fitted_is_refused_and_run_still_publishes(tmp_path):
    """Issue 19: a registry too small for the fitted models (their Riley minimum) must not lose its
    run: each refused model is one sentence, OST still scores, and the snapshot is published."""
    cohort = tmp_path / "cohort"
    write_flat(cohort, n_patients=15, seed=5, messy=False)
    warehouse = tmp_path / "wh" / "osteoreg.duckdb"

    done = osteoreg("run", str(cohort), "--warehouse", str(warehouse))
    assert done.returncode == 0, done.stdout + done.stderr
    said = " ".join(done.stdout.split())
    assert "Traceback" not in done.stdout + done.stderr and "Warning" not in done.stderr, done.stderr
    assert "The local_lasso model needs at least 50 assessments with osteoporosis to be fitted" in said
    snapshot = warehouse.with_name("osteoreg.snapshot.duckdb")
    with duckdb.connect(str(snapshot), read_only=True) as conn:
        scored = dict(conn.execute("SELECT model_name, count(*) FROM scoring.risk_scores GROUP BY ALL").fetchall())
        assessments = conn.execute("SELECT count(*) FROM marts.fct_bmd_assessment").fetchall()[0][0]
    assert assessments > 0 and scored.get("ost") == assessments and "local_lasso" not in scored
