"""Crash consistency: `kill -9` at a random point of `ingest` or `build`, then run again, gives
the clean result; a second writer is refused in one sentence naming the holder.

Real processes (`python -m etl.cli`), real signals, real DuckDB files. The kill points are drawn
from a seeded generator over the clean run's own duration, so they fall while reading,
inserting, between files and while publishing.
"""
from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest

from etl.ingest.loader import ingest_paths
from etl.publish import snapshot_path
from etl.synth.flat import write_flat

OSTEOREG = [sys.executable, "-m", "etl.cli"]
SECRET = "crash-test-secret-of-some-length"
# Columns that say when, not what: a re-run writes them anew.
WHEN = {"started_at", "finished_at", "created_at", "built_at", "scored_at", "published_at", "dbt_invocation_id",
        "ingested_at", "file_mtime_ns"}


def _env() -> dict:
    return {**os.environ, "OSTEOREG_SECRET": SECRET}


def state(path: Path, schemas: tuple[str, ...]) -> dict[str, list]:
    """Every row of every table in `schemas` (sorted, time columns left out)."""
    with duckdb.connect(str(path), read_only=True) as conn:
        tables = conn.execute(
            "SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema IN "
            f"({', '.join(repr(s) for s in schemas)}) AND table_type = 'BASE TABLE' ORDER BY 1, 2").fetchall()
        found = {}
        for schema, table in tables:
            columns = [c for c, in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ? "
                "ORDER BY ordinal_position", [schema, table]).fetchall() if c not in WHEN]
            rows = conn.execute(f'SELECT {", ".join(chr(34) + c + chr(34) for c in columns)} '
                                f'FROM {schema}."{table}"').fetchall()
            found[f"{schema}.{table}"] = sorted(rows, key=repr)
    return found


def _kill_after(args: list[str], seconds: float) -> int | None:
    """Start `osteoreg args`, SIGKILL it after `seconds` (if still running); its exit status."""
    process = subprocess.Popen(OSTEOREG + args, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        return process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGKILL)
        process.wait()
        return None


@pytest.fixture(scope="module")
def exports(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("crash") / "in"
    write_flat(folder, n_patients=1500, seed=11, lab_files=4)
    return folder


@pytest.fixture(scope="module")
def clean(exports, tmp_path_factory) -> tuple[Path, float]:
    """One uninterrupted `osteoreg ingest` of the exports, and how long it took."""
    path = tmp_path_factory.mktemp("clean") / "osteoreg.duckdb"
    started = time.perf_counter()
    done = subprocess.run(OSTEOREG + ["ingest", "-w", str(path), str(exports)], env=_env(), capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return path, time.perf_counter() - started


@pytest.mark.parametrize("draw", range(3))
def test_kill_during_ingest_then_reingest_gives_the_clean_result(exports, clean, tmp_path, monkeypatch, draw):
    clean_path, duration = clean
    seconds = random.Random(1000 + draw).uniform(0.3, duration)
    path = tmp_path / "osteoreg.duckdb"
    status = _kill_after(["ingest", "-w", str(path), str(exports)], seconds)
    assert status in (None, 0)
    monkeypatch.setenv("OSTEOREG_SECRET", SECRET)
    report = ingest_paths(path, [exports])
    assert not report.failed, [f.message for f in report.failed]
    schemas = ("raw", "audit", "identity")
    assert state(path, schemas) == state(clean_path, schemas), f"killed after {seconds:.2f} s"


def test_a_second_writer_is_refused_in_one_sentence_naming_the_holder(exports, tmp_path, monkeypatch):
    path = tmp_path / "osteoreg.duckdb"
    monkeypatch.setenv("OSTEOREG_SECRET", SECRET)
    ingest_paths(path, [exports / "patients.csv"])
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        from etl import warehouse
        with warehouse.session({str(path)!r}) as conn:
            print("holding", flush=True)
            time.sleep(60)
    """)], stdout=subprocess.PIPE, text=True, env=_env())
    try:
        assert holder.stdout.readline().strip() == "holding"
        done = subprocess.run(OSTEOREG + ["ingest", "-w", str(path), str(exports)], env=_env(), capture_output=True,
                              text=True, timeout=300)
    finally:
        holder.kill()
        holder.wait()
    assert done.returncode == 1
    message = " ".join(done.stderr.split())
    assert f"is locked by process {holder.pid}" in message and "Traceback" not in done.stderr + done.stdout
    assert message.count("error:") == 1
    # Nothing was lost: once the holder is gone, the same command loads everything.
    report = ingest_paths(path, [exports])
    assert not report.failed
    assert {f.status for f in report.files} <= {"loaded", "skipped"}
    with duckdb.connect(str(path), read_only=True) as conn:
        assert conn.execute("SELECT count(*) FROM audit.loads WHERE status = 'failed'").fetchall() == [(0,)]


@pytest.mark.slow
def test_kill_during_build_keeps_the_snapshot_whole_and_a_rebuild_gives_the_clean_marts(clean, tmp_path,
                                                                                         monkeypatch):
    from etl.build import build
    from etl.publish import publish

    clean_path, _ = clean
    monkeypatch.setenv("OSTEOREG_SECRET", SECRET)
    reference = tmp_path / "reference" / "osteoreg.duckdb"
    reference.parent.mkdir()
    shutil.copy(clean_path, reference)
    started = time.perf_counter()
    build(reference, exclude="resource_type:unit_test")
    publish(reference, dictionary=False)
    duration = time.perf_counter() - started
    published_before = state(snapshot_path(reference), ("marts",))

    # A copy with that snapshot beside it; a build of it is killed at a seeded random point.
    path = tmp_path / "killed" / "osteoreg.duckdb"
    path.parent.mkdir()
    shutil.copy(reference, path)
    shutil.copy(snapshot_path(reference), snapshot_path(path))
    seconds = random.Random(2026).uniform(2.0, duration)
    _kill_after(["build", "-w", str(path)], seconds)
    # The snapshot is the previous one or a complete new one, never half-written.
    assert state(snapshot_path(path), ("marts",)) == published_before, f"killed after {seconds:.2f} s"
    build(path, exclude="resource_type:unit_test")
    publish(path, dictionary=False)
    assert state(path, ("marts",)) == state(reference, ("marts",))
    assert state(snapshot_path(path), ("marts",)) == published_before
    assert not [p.name for p in path.parent.iterdir() if ".partial-" in p.name]
