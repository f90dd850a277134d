"""Fixtures for the HL7 v2 and FHIR readers: a DuckDB connection and batch rows as dicts."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pytest


@pytest.fixture
def conn():
    connection = duckdb.connect()
    yield connection
    connection.close()


@pytest.fixture
def rows(conn):
    """The rows of one kind of a ReaderResult as dicts, in source order (empty when absent)."""

    def _rows(result, kind: str) -> list[dict]:
        batches = [b for b in result.batches if b.kind == kind]
        if not batches:
            return []
        table = batches[0].table
        if not isinstance(table, str):
            return table.to_pylist()
        cursor = conn.execute(f"SELECT * FROM {table} ORDER BY source_row")
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]

    return _rows


def build_in_subprocess(warehouse_path: Path) -> None:
    """`dbt build` in its own process, as `osteoreg build` runs: dbt-duckdb keeps its connection
    cached in the process, with settings DuckDB will not mix with a later read-only connection."""
    script = "import sys; from pathlib import Path; from etl.build import build; build(Path(sys.argv[1]), exclude='resource_type:unit_test')"
    done = subprocess.run([sys.executable, "-c", script, str(warehouse_path)], capture_output=True, text=True)
    if done.returncode != 0:
        raise AssertionError(f"dbt build failed: {done.stderr[-2000:]}")
