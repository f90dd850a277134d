"""Real pipeline on a small cohort: ingest the CSVs in `cohort/`, dbt build, then every suite.

Ingest and build run in their own process, as `osteoreg build` then `osteoreg check` would:
dbt-duckdb keeps its connection cached in the process after a build, with other settings than
`etl.warehouse.connect`, and DuckDB refuses a second configuration on an open file.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from etl.quality.runner import run_checks
from etl.quality.suites import load_suites

from .conftest import execute

pytestmark = pytest.mark.slow

COHORT = Path(__file__).parent / "cohort"


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("built") / "osteoreg.duckdb"
    script = ("import sys; from pathlib import Path; from etl.ingest.loader import ingest_paths; "
              "from etl.build import build; ingest_paths(Path(sys.argv[1]), [Path(sys.argv[2])]); "
              "build(Path(sys.argv[1]), exclude='resource_type:unit_test')")
    subprocess.run([sys.executable, "-c", script, str(path), str(COHORT)], check=True, capture_output=True)
    return path


@pytest.fixture
def built_copy(built, tmp_path) -> Path:
    copy = tmp_path / "osteoreg.duckdb"
    shutil.copyfile(built, copy)
    return copy


def test_a_clean_cohort_passes_every_suite_on_dbt_built_marts(built):
    run = run_checks(built)
    assert run.skipped_suites == []
    assert [(f.check_key, f.exception_message) for f in run.failures] == []
    assert run.passed and run.checks == sum(len(suite.checks) for suite in load_suites()) == 94
    assert run.data_docs_path.exists()


def test_defects_that_slipped_into_built_layers_block_the_pipeline(built_copy):
    execute(built_copy,
            "UPDATE marts.fct_bmd_assessment SET min_t_score = -12.0, t_score_lumbar_spine = -12.0 "
            "WHERE min_t_score_site = 'lumbar_spine_l1_l4' AND assessment_id = (SELECT min(assessment_id) "
            "FROM marts.fct_bmd_assessment WHERE min_t_score_site = 'lumbar_spine_l1_l4')",
            "UPDATE raw.dxa_results SET site = 'elbow' WHERE source_row = (SELECT min(source_row) FROM raw.dxa_results)")
    run = run_checks(built_copy)
    failed = {f.check_key: f for f in run.failures}
    assert failed["raw_dxa_results:expect_column_values_to_be_in_set:site"].unexpected_count == 1
    t_score = failed["marts_fct_bmd_assessment:expect_column_values_to_be_between:min_t_score"]
    assert (t_score.unexpected_count, t_score.severity) == (1, "critical")
    assert not run.passed and "critical quality check" in run.blocking_message()
