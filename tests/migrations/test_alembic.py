"""The Alembic schema as a whole: upgrade is repeatable, downgrade reaches base, and the head the
package reads from its files is Alembic's own."""
from __future__ import annotations

import duckdb

from etl import warehouse


def test_migrations_upgrade_is_repeatable_and_downgrade_reaches_base(warehouse_path):
    assert warehouse.upgrade(warehouse_path) == warehouse.head_revision()
    assert warehouse.upgrade(warehouse_path) == warehouse.head_revision()
    schemas = "SELECT schema_name FROM information_schema.schemata WHERE schema_name IN ('raw','audit','identity','scoring') ORDER BY 1"
    with duckdb.connect(str(warehouse_path)) as conn:
        assert [r[0] for r in conn.execute(schemas).fetchall()] == ["audit", "identity", "raw", "scoring"]
    assert warehouse.downgrade(warehouse_path, "base") is None
    with duckdb.connect(str(warehouse_path)) as conn:
        assert conn.execute(schemas).fetchall() == []
        assert conn.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema <> 'main'").fetchone() == (0,)
    assert warehouse.upgrade(warehouse_path) == warehouse.head_revision()


def test_head_read_from_files_is_alembics_head():
    assert warehouse.head_from_files() == warehouse.head_revision()
