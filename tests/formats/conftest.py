"""Fixtures for the HL7 v2 and FHIR readers: a DuckDB connection and batch rows as dicts."""
from __future__ import annotations

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
