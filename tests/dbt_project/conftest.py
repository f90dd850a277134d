"""Fixtures for the dbt project's tests: real warehouses (Alembic), real dbt builds, small data."""
from __future__ import annotations

from pathlib import Path

import pytest

from etl.warehouse import upgrade

from ..warehouses import RawWarehouse


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
