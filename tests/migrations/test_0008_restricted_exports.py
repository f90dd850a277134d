"""Migration 0008: the ledger of restricted exports, up and down."""
from __future__ import annotations

import duckdb

from etl import warehouse

from ..warehouses import rows


def _tables(path) -> set[str]:
    return {t for t, in rows(path, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'audit'")}


def test_migration_0008_upgrades_and_downgrades(tmp_path):
    path = tmp_path / "osteoreg.duckdb"
    assert warehouse.upgrade(path, "0008_restricted_exports") == "0008_restricted_exports"
    assert "restricted_exports" in _tables(path)
    with duckdb.connect(str(path)) as conn:
        ids = [conn.execute("INSERT INTO audit.restricted_exports (os_user, requested_at, tables, out_dir, "
                            "rows_written) VALUES ('u', now(), '[]', '/x', 0) RETURNING export_id").fetchall()[0][0]
               for _ in range(2)]
    assert ids == [1, 2]
    assert warehouse.downgrade(path, "0003_scoring_models") == "0003_scoring_models"
    assert "restricted_exports" not in _tables(path)
    assert warehouse.upgrade(path, "0008_restricted_exports") == "0008_restricted_exports"
