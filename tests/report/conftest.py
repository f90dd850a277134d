"""Warehouses for the analyst-surface tests, all real: synthetic exports in every format, the
ingest, a dbt build, Great Expectations checks, scoring and the published snapshot.

`demo` (1,500 patients, as `osteoreg demo` makes it) is built once per session; tests that
write get their own copy. `tiny` (40 patients, no checks or scores) is where most cells fall
below the small-cell limit.
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

DEMO_PATIENTS = 1500
DEMO_SEED = 20261122
TINY_PATIENTS = 40


@dataclass
class Demo:
    path: Path
    inputs: Path

    def copy_to(self, folder: Path) -> Path:
        """The warehouse and its snapshot, copied (a test that writes must not touch the shared one)."""
        from etl.publish import snapshot_path

        folder.mkdir(parents=True, exist_ok=True)
        target = folder / self.path.name
        shutil.copy(self.path, target)
        shutil.copy(snapshot_path(self.path), snapshot_path(target))
        return target


def rows(path: Path, sql: str, parameters=None) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as conn:
        return conn.execute(sql, parameters or []).fetchall()


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
