"""Shared fixtures: a fresh warehouse file per test and a fixed HMAC secret."""
from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest

EXTERNAL = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "external"
if not EXTERNAL.exists():  # CI clones main with shared/ beside it
    EXTERNAL = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "external"


@pytest.fixture
def secret(monkeypatch) -> str:
    monkeypatch.setenv("OSTEOREG_SECRET", "test-secret-of-at-least-32-characters")
    return "test-secret-of-at-least-32-characters"


@pytest.fixture
def warehouse_path(tmp_path: Path) -> Path:
    return tmp_path / "wh" / "osteoreg.duckdb"


@pytest.fixture
def query(warehouse_path: Path):
    """Run one read-only query against the test warehouse and return all rows."""

    def run(sql: str, params=None):
        with duckdb.connect(str(warehouse_path), read_only=True) as conn:
            return conn.execute(sql, params or []).fetchall()

    return run


@pytest.fixture
def write():
    """Write a text file (creating folders) and return its path."""

    def _write(path: Path, text: str) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    return _write


@pytest.fixture
def external() -> Path:
    if not EXTERNAL.exists():
        pytest.fail(f"shared fixtures not found at {EXTERNAL}")
    return EXTERNAL


_exit_status = 0


def pytest_sessionfinish(session, exitstatus):
    global _exit_status
    _exit_status = int(exitstatus)


def pytest_unconfigure(config):
    """End the process once pytest has reported, skipping interpreter teardown: after dbt has run
    in-process, DuckDB's bindings print dozens of spurious "leaked instance" lines at shutdown,
    which would bury pytest's closing summary line."""
    import sys

    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(_exit_status)
