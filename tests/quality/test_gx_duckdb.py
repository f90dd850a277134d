"""The DuckDB dialect fix for Great Expectations (upstream #10738, #11579) and that it still matters."""
from __future__ import annotations

from pathlib import Path

import pytest

from etl.quality import gx_duckdb
from etl.quality.gx_validation import validate
from etl.quality.suites import Check, Suite

from .conftest import execute

pytestmark = pytest.mark.slow


def _suite() -> Suite:
    check = Check(key="t:between", type="expect_column_values_to_be_between",
                  kwargs={"column": "v", "min_value": 0, "max_value": 10},
                  meta={"category": "plausibility", "severity": "critical"})
    return Suite(name="fix_probe", path=Path("probe.json"), layer="raw", table="main.probe",
                 row_keys=["k"], checks=[check])


@pytest.fixture
def probe_warehouse(tmp_path) -> Path:
    path = tmp_path / "probe.duckdb"
    execute(path, "CREATE TABLE main.probe AS SELECT i AS k, CASE WHEN i % 1000 = 0 THEN 99 ELSE i % 10 END AS v "
                  "FROM range(20000) r(i)")
    return path


def test_duckdb_is_listed_once_and_recognised_from_a_connection_string():
    from great_expectations.execution_engine import sqlalchemy_execution_engine as engine

    gx_duckdb.persist_duckdb_connections()
    gx_duckdb.persist_duckdb_connections()
    assert sum(1 for name in engine._PERSISTED_CONNECTION_DIALECTS if name == "duckdb") == 1
    assert engine._dialect_requires_persisted_connection(connection_string="duckdb:///x.duckdb")
    assert not engine._dialect_requires_persisted_connection(connection_string="postgresql://h/db")


def test_validation_inside_duckdb_returns_metrics(probe_warehouse, tmp_path):
    outcome = validate(probe_warehouse, [_suite()], {}, tmp_path / "docs")["fix_probe"][0]
    assert outcome.status == "failed" and outcome.exception_message is None
    assert (outcome.element_count, outcome.unexpected_count) == (20000, 20)
    assert len(outcome.failing_row_keys) == 20 and all(row["k"] % 1000 == 0 for row in outcome.failing_row_keys)


def test_without_the_fix_great_expectations_cannot_fetch_from_duckdb(probe_warehouse, tmp_path, monkeypatch):
    """Documents why the fix exists; when upstream fixes the bug this fails and the fix can go."""
    from great_expectations.execution_engine import sqlalchemy_execution_engine as engine

    without = tuple(name for name in engine._PERSISTED_CONNECTION_DIALECTS if name != "duckdb")
    monkeypatch.setattr(engine, "_PERSISTED_CONNECTION_DIALECTS", without)
    monkeypatch.setattr(gx_duckdb, "persist_duckdb_connections", lambda: None)
    outcome = validate(probe_warehouse, [_suite()], {}, tmp_path / "docs")["fix_probe"][0]
    assert outcome.status == "error" and outcome.unexpected_count is None
