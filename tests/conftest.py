"""Shared fixtures: a fresh warehouse file per test, a fixed HMAC secret, and the session's
demo and tiny warehouses (built once, read by the report, snapshot, SQL and e2e tests).

`demo` (1,500 patients, as `osteoreg demo` makes it) is built once per session; tests that
write get their own copy. `tiny` (40 patients, no checks or scores) is where most cells fall
below the small-cell limit.
"""
from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest

from .warehouses import DEMO_PATIENTS, DEMO_SEED, TINY_PATIENTS, Demo

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



@pytest.fixture(scope="session")
def demo(tmp_path_factory) -> Demo:
    from etl.build import build
    from etl.ingest.loader import ingest_paths
    from etl.publish import publish
    from etl.quality.runner import run_checks
    from etl.scoring.runner import score
    from etl.synth.mixed import write_mixed

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OSTEOREG_SECRET", "report-test-secret-of-at-least-32-characters")
        root = tmp_path_factory.mktemp("report_demo")
        write_mixed(root / "input", n_patients=DEMO_PATIENTS, seed=DEMO_SEED)
        path = root / "osteoreg.duckdb"
        ingest_paths(path, [root / "input"])
        build(path, exclude="resource_type:unit_test")  # dbt's unit tests belong to the dbt suite
        run_checks(path)
        score(path)
        publish(path)
    return Demo(path=path, inputs=root / "input")


@pytest.fixture(scope="session")
def tiny(tmp_path_factory) -> Path:
    from etl.build import build
    from etl.ingest.loader import ingest_paths
    from etl.publish import publish
    from etl.synth.flat import write_flat

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OSTEOREG_SECRET", "report-test-secret-of-at-least-32-characters")
        root = tmp_path_factory.mktemp("report_tiny")
        write_flat(root / "input", n_patients=TINY_PATIENTS, seed=7, messy=False)
        path = root / "osteoreg.duckdb"
        ingest_paths(path, [root / "input"])
        build(path, exclude="resource_type:unit_test")
        publish(path, dictionary=False)
    return path


@pytest.fixture(scope="session")
def demo_report(demo, tmp_path_factory):
    from etl.report import write_report

    return write_report(demo.path, tmp_path_factory.mktemp("report_out"))


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
