"""Migration 0009: the build ledger (audit.builds), up and down."""
from __future__ import annotations

import duckdb

from etl import warehouse

from ..warehouses import rows


def _tables(path) -> set[str]:
    return {t for t, in rows(path, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'audit'")}


def test_migration_0009_upgrades_and_downgrades(tmp_path):
    path = tmp_path / "osteoreg.duckdb"
    assert warehouse.upgrade(path, "0009_build_ledger") == "0009_build_ledger"
    assert "builds" in _tables(path)
    with duckdb.connect(str(path)) as conn:
        ids = [conn.execute("INSERT INTO audit.builds (started_at, finished_at, mode, reason, project_fingerprint, "
                            "rules_fingerprint) VALUES (now(), now(), 'full', 'first', 'p', 'r') "
                            "RETURNING build_id").fetchall()[0][0] for _ in range(2)]
    assert ids == [1, 2]
    assert warehouse.downgrade(path, "0008_restricted_exports") == "0008_restricted_exports"
    assert "builds" not in _tables(path) and "restricted_exports" in _tables(path)
    assert warehouse.upgrade(path, "0009_build_ledger") == "0009_build_ledger"
    assert "builds" in _tables(path)
