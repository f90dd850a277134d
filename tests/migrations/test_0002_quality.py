"""Migration 0002: the quality tables and trend view come and go with Alembic."""
from __future__ import annotations

from etl import warehouse

from ..warehouses import rows as query

QUALITY_OBJECTS = ("SELECT table_name FROM information_schema.tables WHERE table_schema = 'audit' "
                   "AND table_name LIKE 'quality%' ORDER BY table_name")


def test_upgrade_creates_and_downgrade_removes_the_quality_tables_and_trend(tmp_path):
    path = tmp_path / "w.duckdb"
    assert warehouse.upgrade(path, "0002_quality_results") == "0002_quality_results"
    assert [row[0] for row in query(path, QUALITY_OBJECTS)] == ["quality_results", "quality_runs", "quality_trend"]
    assert warehouse.downgrade(path, "0001_initial_schemas") == "0001_initial_schemas"
    assert query(path, QUALITY_OBJECTS) == []
    assert query(path, "SELECT count(*) FROM information_schema.tables WHERE table_name = 'loads'") == [(1,)]
    assert warehouse.upgrade(path, "0002_quality_results") == "0002_quality_results"


def test_trend_computes_failure_percent_from_counts_when_gx_gives_no_percent(tmp_path):
    path = tmp_path / "w.duckdb"
    warehouse.upgrade(path, "0002_quality_results")
    with warehouse.session(path) as conn:
        for run_id, day in ((1, 1), (2, 2)):
            conn.execute("INSERT INTO audit.quality_runs (run_id, started_at, finished_at, status, suites_validated, "
                         "suites_skipped, checks, checks_failed, critical_failed) VALUES (?, ?, ?, 'failed', 1, 0, 1, 1, 1)",
                         [run_id, f"2026-01-0{day} 10:00", f"2026-01-0{day} 10:01"])
        conn.execute("""INSERT INTO audit.quality_results (run_id, suite, check_key, expectation_type, table_name,
            category, severity, status, success, element_count, unexpected_count) VALUES
            (1, 's', 'k', 'unexpected_rows_expectation', 'marts.t', 'conformance', 'critical', 'failed', false, 200, 2),
            (2, 's', 'k', 'unexpected_rows_expectation', 'marts.t', 'conformance', 'critical', 'failed', false, 200, 10)""")
    assert query(path, "SELECT run_id, failure_percent, change_since_previous_run FROM audit.quality_trend "
                       "ORDER BY run_id") == [(1, 1.0, None), (2, 5.0, 4.0)]
