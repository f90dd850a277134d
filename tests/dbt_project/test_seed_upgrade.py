"""A warehouse built by an older release, whose seed tables lack a column the seeds now have,
builds without a full refresh: seeds are recreated on every build."""
from __future__ import annotations

import duckdb
import pytest

pytestmark = pytest.mark.slow


def test_a_seed_table_with_older_columns_is_recreated(raw_warehouse):
    raw_warehouse.build(select="result_statuses")
    with duckdb.connect(str(raw_warehouse.path)) as conn:  # as release 0.1.0 left it
        conn.execute("ALTER TABLE terminology.result_statuses DROP COLUMN from_fhir")
    raw_warehouse.build(select="result_statuses")
    assert raw_warehouse.query(
        "SELECT status FROM terminology.result_statuses WHERE from_fhir ORDER BY 1") == [
        ("A",), ("C",), ("D",), ("F",), ("I",), ("P",), ("X",)]
