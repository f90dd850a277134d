"""Warehouses the tests share across packages, all real: a migrated warehouse that tests fill
row by row (as the loader would), the session's demo warehouse, and a read-only query helper.

Plain helpers live here; the fixtures that build them are in `tests/conftest.py`, so every
package's tests reuse ONE demo build per session instead of building their own.
"""
from __future__ import annotations

import itertools
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb

from etl.build import build
from etl.publish import snapshot_path
from etl.rules import RulesInEffect, load_rules

DEMO_PATIENTS = 1500
DEMO_SEED = 20261122
TINY_PATIENTS = 40
# dbt's unit tests pin the models on fixed inputs whatever the warehouse holds; tests that read
# the marts of their own rows leave them out (tests/test_build.py runs them).
UNIT_TESTS = "resource_type:unit_test"

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

    def build(self, unit_tests: bool = False, **kwargs):
        """`dbt build` of this warehouse. dbt's unit tests (fixed inputs, independent of the rows
        here) are left out unless asked: they cost 10-30 s a build and tests/test_build.py runs them."""
        if not unit_tests:
            kwargs.setdefault("exclude", UNIT_TESTS)
        return build(self.path, **kwargs)


@dataclass
class Demo:
    path: Path
    inputs: Path

    def copy_to(self, folder: Path) -> Path:
        """The warehouse and its snapshot, copied (a test that writes must not touch the shared one)."""
        return copy_warehouse(self.path, folder, with_snapshot=True)


def copy_warehouse(path: Path, folder: Path, with_snapshot: bool = False) -> Path:
    """A session warehouse copied into `folder` (and its published snapshot beside it), for a test
    that writes: the shared file stays as every other test expects it."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / path.name
    shutil.copy(path, target)
    if with_snapshot:
        shutil.copy(snapshot_path(path), snapshot_path(target))
    return target


def rows(path: Path, sql: str, parameters=None) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as conn:
        return conn.execute(sql, parameters or []).fetchall()




def rules_of(path: Path) -> RulesInEffect:
    """The rules the build behind a warehouse or snapshot used (what its figures must follow)."""
    with duckdb.connect(str(path), read_only=True) as conn:
        return load_rules(conn)
