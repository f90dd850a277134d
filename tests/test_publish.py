"""The published snapshot: what it holds, that it is replaced atomically, and that analysts can
read it while another process writes the warehouse."""
from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
import time

import duckdb
import pytest

from etl import sql, warehouse
from etl.errors import OsteoregError, WarehouseLockedError
from etl.publish import PUBLISHED_SCHEMAS, publish, publish_snapshot, snapshot_path

from .warehouses import rows

pytestmark = pytest.mark.slow


def test_snapshot_path_is_beside_the_warehouse(tmp_path):
    assert snapshot_path(tmp_path / "wh" / "osteoreg.duckdb") == tmp_path / "wh" / "osteoreg.snapshot.duckdb"


def test_snapshot_holds_the_analyst_schemas_and_nothing_else(demo):
    snapshot = snapshot_path(demo.path)
    schemas = {s for s, in rows(snapshot, "SELECT DISTINCT table_schema FROM information_schema.tables")}
    assert schemas == set(PUBLISHED_SCHEMAS) | {"main", "analyses"}   # analyses: computed at publication
    published = {(s, t) for s, t in rows(snapshot, "SELECT table_schema, table_name FROM information_schema.tables "
                                                   "WHERE table_schema NOT IN ('main', 'analyses')")}
    expected = {(s, t) for s, t in rows(demo.path, "SELECT table_schema, table_name FROM information_schema.tables "
                                                   "WHERE table_schema IN ('marts', 'scoring', 'audit')")}
    assert published == expected
    assert ("scoring", "current_risk_scores") in published and ("audit", "quality_trend") in published
    for schema, table in published:
        assert rows(snapshot, f"SELECT count(*) FROM {schema}.{table}") == \
            rows(demo.path, f"SELECT count(*) FROM {schema}.{table}"), f"{schema}.{table}"
    quarantine_columns = {c for c, in rows(snapshot, "SELECT column_name FROM information_schema.columns "
                                                     "WHERE table_schema = 'audit' AND table_name = 'quarantine'")}
    assert "payload" not in quarantine_columns and {"load_id", "reason"} <= quarantine_columns
    (info,) = rows(snapshot, "SELECT warehouse, schema_revision, tables FROM main.snapshot_info")
    analyses = rows(snapshot, "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'analyses'")[0][0]
    assert info == (demo.path.name, warehouse.current_revision(demo.path), len(published) + analyses)
    assert not stat.S_IMODE(os.stat(snapshot).st_mode) & 0o222  # nobody may write it


def test_an_open_reader_keeps_its_snapshot_while_a_new_one_replaces_it(demo, tmp_path):
    path = demo.copy_to(tmp_path)
    old = duckdb.connect(str(snapshot_path(path)), read_only=True)
    try:
        before = old.execute("SELECT published_at FROM main.snapshot_info").fetchall()
        with duckdb.connect(str(path)) as conn:  # the ETL changes a mart after the reader opened
            conn.execute("DELETE FROM marts.mg_deficiency_prevalence_by_year WHERE year = 2015").fetchall()
        result = publish_snapshot(path, dictionary=False)
        assert old.execute("SELECT published_at FROM main.snapshot_info").fetchall() == before
        assert old.execute("SELECT count(*) FROM marts.mg_deficiency_prevalence_by_year "
                           "WHERE year = 2015").fetchall() == [(1,)]
    finally:
        old.close()
    assert rows(result.path, "SELECT count(*) FROM marts.mg_deficiency_prevalence_by_year WHERE year = 2015") == [(0,)]
    assert rows(result.path, "SELECT published_at FROM main.snapshot_info") > before
    assert sorted(p.name for p in tmp_path.iterdir() if "partial" in p.name) == []


def test_a_failed_publication_leaves_the_previous_snapshot_untouched(demo, tmp_path):
    path = tmp_path / "osteoreg.duckdb"
    warehouse.upgrade(path)  # migrated, but never built: no marts
    previous = snapshot_path(demo.path).read_bytes()
    snapshot_path(path).write_bytes(previous)
    with pytest.raises(OsteoregError, match="has no marts yet"):
        publish(path, dictionary=False)
    assert snapshot_path(path).read_bytes() == previous
    assert sorted(p.name for p in tmp_path.iterdir()) == ["osteoreg.duckdb", "osteoreg.snapshot.duckdb"]


def test_readers_in_another_process_never_fail_while_snapshots_are_replaced(demo, tmp_path):
    path = demo.copy_to(tmp_path)
    stop = tmp_path / "stop"
    reader = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import pathlib, sys
        from etl import sql
        stop, ok, failures = pathlib.Path({str(stop)!r}), 0, []
        while not stop.exists():
            try:
                result = sql.query({str(path)!r}, "SELECT count(*) FROM marts.dim_patient")
                ok += result.rows == [({rows(demo.path, 'SELECT count(*) FROM marts.dim_patient')[0][0]},)]
            except Exception as error:
                failures.append(str(error))
        print(ok, len(failures), failures[:3])
        """)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1.0)
        for _ in range(4):
            publish(path, dictionary=False)
    finally:
        stop.touch()
        out, err = reader.communicate(timeout=60)
    ok, failed = out.split()[:2]
    assert int(failed) == 0, out
    assert int(ok) > 0, (out, err)


# The ingest reports each loaded file and, after the first, waits until the test has queried:
# the test then reads the snapshot while the ingest is known to be mid-run, holding the lock.
INGEST = """
import pathlib, sys, time
from etl.ingest.loader import ingest_paths
from etl.synth.mixed import write_mixed
write_mixed(sys.argv[2], n_patients=300, seed=99)
release = pathlib.Path(sys.argv[3])

def loaded(outcome):
    print("loaded", outcome.path.name, outcome.status, flush=True)
    while not release.exists():
        time.sleep(0.01)

report = ingest_paths(sys.argv[1], [sys.argv[2]], progress=loaded)
print("done", len(report.files), flush=True)
"""


def test_queries_succeed_while_an_ingest_holds_the_warehouse(demo, tmp_path, monkeypatch):
    path = demo.copy_to(tmp_path / "wh")
    query = "SELECT year, n_assessed FROM marts.mg_deficiency_prevalence_by_year ORDER BY year"
    expected = rows(snapshot_path(demo.path), query)   # the published (protected) figures
    release = tmp_path / "release"
    monkeypatch.setenv("OSTEOREG_SECRET", "report-test-secret-of-at-least-32-characters")
    ingest = subprocess.Popen([sys.executable, "-c", INGEST, str(path), str(tmp_path / "more"), str(release)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = ingest.stdout.readline()
        assert first.startswith("loaded ") and first.split()[2] == "loaded", first
        with pytest.raises(WarehouseLockedError, match="is locked by process"):
            warehouse.connect(path, read_only=True)
        for _ in range(5):
            assert [tuple(r) for r in sql.query(path, query).rows] == expected
        assert sql.query(path, "SELECT count(*) FROM audit.loads").rows == rows(demo.path, "SELECT count(*) FROM audit.loads")
        assert ingest.poll() is None
    finally:
        release.touch()
        out, err = ingest.communicate(timeout=120)
    assert ingest.returncode == 0, err
    assert out.splitlines()[-1].startswith("done ")
    assert rows(path, "SELECT count(*) FROM audit.loads") > rows(demo.path, "SELECT count(*) FROM audit.loads")


def test_a_warehouse_under_a_folder_with_an_apostrophe_publishes(demo, tmp_path):
    path = demo.copy_to(tmp_path / "St John's Hospital" / "registry")
    os.chmod(snapshot_path(path), 0o644)
    snapshot_path(path).unlink()
    result = publish_snapshot(path, dictionary=False)
    assert result.path == snapshot_path(path)
    assert rows(result.path, "SELECT count(*) FROM marts.dim_patient") == rows(path, "SELECT count(*) FROM marts.dim_patient")


def test_the_next_publish_removes_partials_left_by_killed_publishes(demo, tmp_path):
    path = demo.copy_to(tmp_path)
    target = snapshot_path(path)
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = int(child.stdout)  # a process that has ended, as a killed publisher has
    stale = [target.with_name(f"{target.name}.partial-{dead}"), target.with_name(f"{target.name}.partial-{dead}.wal")]
    for leftover in stale:
        leftover.write_bytes(b"half a snapshot")
        os.chmod(leftover, 0o444)
    alive = target.with_name(f"{target.name}.partial-{os.getppid()}")  # a publish still running elsewhere
    alive.write_bytes(b"in progress")
    publish_snapshot(path, dictionary=False)
    assert not any(leftover.exists() for leftover in stale)
    assert alive.exists()
    assert sorted(p.name for p in tmp_path.iterdir() if ".partial-" in p.name) == [alive.name]
