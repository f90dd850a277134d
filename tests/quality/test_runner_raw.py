"""`run_checks` on raw tables: skipping unbuilt layers, catching defects, storing results and trend."""
from __future__ import annotations

import json

import pytest

from etl.errors import BlockingProblem
from etl.quality.runner import data_docs_dir, gate, run_checks

from .conftest import execute, query

pytestmark = pytest.mark.slow


def test_clean_raw_rows_pass_and_unbuilt_layers_are_skipped_not_failed(raw_warehouse):
    run = run_checks(raw_warehouse)
    validated = {s.suite for s in run.suites if s.status == "validated"}
    assert validated == {"raw_patients", "raw_lab_results", "raw_dxa_results", "raw_fractures"}
    assert "marts_fct_bmd_assessment" in run.skipped_suites and len(run.skipped_suites) == 5
    assert (run.failed, run.critical_failed, run.passed) == (0, 0, True)
    assert run.blocking_message() is None
    gate(run)                                                       # does not raise
    assert run.data_docs_path == data_docs_dir(raw_warehouse) / "index.html"
    assert "raw_dxa_results" in run.data_docs_path.read_text()
    stored = dict(query(raw_warehouse, "SELECT status, count(*) FROM audit.quality_results GROUP BY status"))
    assert stored["passed"] == run.checks == 23
    assert stored["skipped"] == sum(s.checks for s in run.suites if s.status == "skipped")
    assert query(raw_warehouse, "SELECT run_id, status, suites_validated, suites_skipped, critical_failed, "
                                "great_expectations_version IS NOT NULL FROM audit.quality_runs") == [(1, "passed", 4, 5, 0, True)]


def test_unknown_site_future_date_and_bad_status_fail_the_right_checks(raw_warehouse):
    execute(raw_warehouse, """INSERT INTO raw.dxa_results (load_id, source_file, source_row, source_format,
        patient_id, scan_date, site, side, t_score, status, row_hash) VALUES
        (4, 'late.csv', 7, 'csv', 'P2', DATE '2099-01-01', 'elbow', NULL, -1.0, 'Q', 41)""")
    run = run_checks(raw_warehouse, suites=["raw_dxa_results"])
    failed = {f.check_key: f for f in run.failures}
    assert set(failed) == {
        "raw_dxa_results:expect_column_values_to_be_in_set:site",
        "raw_dxa_results:expect_column_values_to_be_in_set:status",
        "raw_dxa_results:expect_column_values_to_be_between:scan_date",
    }
    site = failed["raw_dxa_results:expect_column_values_to_be_in_set:site"]
    assert (site.unexpected_count, site.severity, site.category) == (1, "critical", "conformance")
    assert site.unexpected_percent == pytest.approx(25.0)            # 1 of 4 rows
    assert run.critical_failed == 3 and not run.passed
    with pytest.raises(BlockingProblem, match="3 critical quality check") as raised:
        gate(run)
    assert raised.value.exit_code == 1
    keys = query(raw_warehouse, "SELECT failing_row_keys FROM audit.quality_results WHERE check_key = ?",
                 ["raw_dxa_results:expect_column_values_to_be_in_set:site"])[0][0]
    assert json.loads(keys) == [{"load_id": 4, "source_row": 7}]


def test_an_implausible_raw_t_score_is_a_warning_within_its_threshold(raw_warehouse):
    """Raw keeps implausible values (flagged downstream): below `mostly` it warns, never blocks."""
    execute(raw_warehouse, """INSERT INTO raw.dxa_results (load_id, source_file, source_row, source_format,
        patient_id, scan_date, site, t_score, status, row_hash)
        SELECT 5, 'many.csv', i, 'csv', 'P' || i, DATE '2024-01-01', 'lumbar_spine_l1_l4',
               CASE WHEN i = 0 THEN -9.5 ELSE -1.0 END, 'F', 100 + i FROM range(200) r(i)""")
    run = run_checks(raw_warehouse, suites=["raw_dxa_results"])
    result = next(r for r in run.results if r.check_key == "raw_dxa_results:expect_column_values_to_be_between:t_score")
    assert (result.status, result.unexpected_count, result.mostly, result.severity) == ("passed", 1, 0.99, "warning")
    assert run.passed


def test_trend_shows_each_checks_failure_percent_per_run(raw_warehouse):
    run_checks(raw_warehouse, suites=["raw_dxa_results"])
    execute(raw_warehouse, """INSERT INTO raw.dxa_results (load_id, source_file, source_row, source_format,
        patient_id, scan_date, site, status, row_hash) VALUES (6, 'x.csv', 1, 'csv', 'P9', DATE '2024-01-01', 'elbow', 'F', 61)""")
    run_checks(raw_warehouse, suites=["raw_dxa_results"])
    trend = query(raw_warehouse, """SELECT run_id, failure_percent, change_since_previous_run FROM audit.quality_trend
        WHERE check_key = 'raw_dxa_results:expect_column_values_to_be_in_set:site' ORDER BY run_id""")
    assert trend[0] == (1, 0.0, None)
    assert trend[1][0] == 2 and trend[1][1] == pytest.approx(25.0) and trend[1][2] == pytest.approx(25.0)
