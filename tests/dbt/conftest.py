"""Fixtures for the dbt project's tests: real warehouses (Alembic), real dbt builds, small data."""
from __future__ import annotations

import itertools
from pathlib import Path

import duckdb
import pytest

from etl.build import build
from etl.warehouse import upgrade

_hashes = itertools.count(1)

# The raw columns tests set; the others stay NULL (the loader fills them for real files).
_LINEAGE = ["load_id", "source_file", "source_row", "source_format"]


class RawWarehouse:
    """A migrated warehouse that tests fill row by row, the way the loader would."""

    def __init__(self, path: Path):
        self.path = path

    def insert(self, table: str, rows: list[dict]) -> None:
        if not rows:
            return
        columns = list(dict.fromkeys(itertools.chain.from_iterable(rows)))
        defaults = {"source_file": "test.csv", "source_format": "csv"}
        names = columns + [c for c in _LINEAGE if c not in columns and c in defaults] + ["row_hash"]
        values = [[row.get(c, defaults.get(c)) for c in names[:-1]] + [next(_hashes)] for row in rows]
        with duckdb.connect(str(self.path)) as conn:
            conn.executemany(
                f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' for _ in names)})", values)

    def patients(self, *keys: str) -> None:
        """Map source ids p1, p2, ... to keys k1, k2, ... (identity.patient_map)."""
        with duckdb.connect(str(self.path)) as conn:
            conn.executemany(
                "INSERT INTO identity.patient_map VALUES (?, ?, 1, TIMESTAMP '2026-01-01')",
                [[f"p{key[1:]}", key] for key in keys])

    def query(self, sql: str, params: list | None = None) -> list[tuple]:
        with duckdb.connect(str(self.path), read_only=True) as conn:
            return conn.execute(sql, params or []).fetchall()

    def build(self, **kwargs):
        return build(self.path, **kwargs)


@pytest.fixture
def raw_warehouse(tmp_path: Path) -> RawWarehouse:
    path = tmp_path / "osteoreg.duckdb"
    upgrade(path)
    return RawWarehouse(path)


@pytest.fixture(scope="module")
def new_raw_warehouse(tmp_path_factory):
    """For module-scoped fixtures: one build shared by the tests that read it."""

    def make() -> RawWarehouse:
        path = tmp_path_factory.mktemp("warehouse") / "osteoreg.duckdb"
        upgrade(path)
        return RawWarehouse(path)

    return make
