"""Incremental builds equal full rebuilds (osteoreg issue 17, contract section 9): "equivalence is
the test". A base cohort and ten daily feeds, each a folder of real CSV exports loaded through
`osteoreg ingest`, each followed by the incremental path (build + publish); at feeds 3 and 10
a full rebuild of the same loads (a copy of the warehouse, `--full-refresh`) must give every mart
and the published snapshot row for row, values to 1e-9. Between feeds 5 and 6 the registry adds a
LOINC code to seed analyte_codes: the next build rebuilds whole by itself and says why. After
feed 10, `build --as-known-at` the time feed 3 finished reproduces the snapshot published then.
"""
from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

import etl.build
from etl.as_known_at import build_as_known_at
from etl.build import FULL, INCREMENTAL, build, dbt_work_dir
from etl.paths import DBT_PROJECT_DIR
from etl.publish import publish_snapshot, snapshot_path

from .feeds import UNTRACKED_CODE, Feeds

pytestmark = pytest.mark.slow

SECRET = "incremental-builds-test-secret-of-32-chars+"
# Data and unit tests run in the other dbt tests; here the models are what is compared.
NO_TESTS = "resource_type:test resource_type:unit_test"
CHECKPOINTS = (3, 10)  # before and after the seed change (feeds 7-10 incremental on the new seed)
SEED_ADDED_BEFORE = 6
# Columns that say when or by which invocation something ran, not what it computed.
VOLATILE = {"built_at", "dbt_invocation_id", "published_at"}
SNAPSHOT_SCHEMAS = ("marts", "analyses")


def _ingest(warehouse: Path, folder: Path) -> None:
    env = dict(os.environ, OSTEOREG_SECRET=SECRET)
    done = subprocess.run([str(Path(sys.executable).with_name("osteoreg")), "--warehouse", str(warehouse), "ingest", str(folder)],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr


def _tables(path: Path, schemas: tuple[str, ...]) -> dict[str, tuple[list[str], list[tuple]]]:
    with duckdb.connect(str(path), read_only=True) as conn:
        names = conn.execute(
            "SELECT table_schema || '.' || table_name FROM information_schema.tables "
            f"WHERE table_schema IN ({', '.join(repr(s) for s in schemas)}) ORDER BY 1").fetchall()
        out = {}
        for (name,) in names:
            columns = [c for (c,) in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema || '.' || table_name = ? "
                "ORDER BY column_name", [name]).fetchall() if c not in VOLATILE]
            rows = conn.execute(f"SELECT {', '.join(chr(34) + c + chr(34) for c in columns)} FROM {name}").fetchall()
            out[name] = (columns, sorted(rows, key=_sort_key))
        return out


def _sort_key(row: tuple) -> tuple:
    return tuple((value is None, f"{value:.6f}" if isinstance(value, float) else str(value)) for value in row)


def _same(value, other) -> bool:
    if isinstance(value, float) and isinstance(other, float):
        return math.isclose(value, other, rel_tol=0, abs_tol=1e-9) or (math.isnan(value) and math.isnan(other))
    return value == other


def assert_equal_tables(incremental: dict, full: dict, where: str) -> None:
    assert sorted(incremental) == sorted(full), where
    for name, (columns, rows) in full.items():
        got_columns, got = incremental[name]
        assert got_columns == columns, f"{where}: {name} columns"
        assert len(got) == len(rows), f"{where}: {name} has {len(got)} rows incrementally, {len(rows)} in full"
        for mine, theirs in zip(got, rows):
            assert all(_same(a, b) for a, b in zip(mine, theirs)), f"{where}: {name} differs: {mine} != {theirs}"


def _full_rebuild_of(warehouse: Path, into: Path) -> Path:
    """A copy of the warehouse (same loads), rebuilt whole and published."""
    into.mkdir()
    copy = into / warehouse.name
    shutil.copy(warehouse, copy)
    shutil.copytree(dbt_work_dir(warehouse), dbt_work_dir(copy))  # dbt's parse, reused
    result = build(copy, exclude=NO_TESTS, full_refresh=True)
    assert result.plan.mode == FULL and result.plan.reason == "--full-refresh was asked for"
    publish_snapshot(copy, dictionary=False)
    return copy


@pytest.fixture(scope="module")
def daily_feeds(tmp_path_factory):
    """Run base + ten feeds through the incremental path; keep what the checks below compare."""
    root = tmp_path_factory.mktemp("incremental")
    mp = pytest.MonkeyPatch()
    mp.setenv("OSTEOREG_SECRET", SECRET)
    project = root / "dbt_project"
    shutil.copytree(DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs"))
    seed = project / "seeds" / "analyte_codes.csv"
    full_seed = seed.read_text(encoding="utf-8")
    (code_line,) = [line for line in full_seed.splitlines() if line.startswith(UNTRACKED_CODE + ",")]
    seed.write_text(full_seed.replace(code_line + "\n", ""), encoding="utf-8")
    mp.setattr(etl.build, "DBT_PROJECT_DIR", project)

    warehouse = root / "registry" / "osteoreg.duckdb"
    warehouse.parent.mkdir()
    feeds = Feeds(seed=17)
    _ingest(warehouse, feeds.write_base(root / "in" / "base", n_patients=120))
    plans = {0: build(warehouse, exclude=NO_TESTS).plan}
    publish_snapshot(warehouse, dictionary=False)
    seen = {"plans": plans, "scopes": {}, "compared": {}, "warehouse": warehouse}
    for day in range(1, 11):
        if day == SEED_ADDED_BEFORE:
            seed.write_text(full_seed, encoding="utf-8")  # the registry starts tracking vitamin D3 nmol/L
        _ingest(warehouse, feeds.write_feed(root / "in" / f"feed-{day:02d}", day,
                                            untracked=3 if day > 3 else 0))
        result = build(warehouse, exclude=NO_TESTS)
        plans[day], seen["scopes"][day] = result.plan, result.patients_in_scope
        publish_snapshot(warehouse, dictionary=False)
        if day == 3:
            with duckdb.connect(str(warehouse), read_only=True) as conn:
                seen["feed_3_finished"] = conn.execute("SELECT max(finished_at) FROM audit.loads").fetchone()[0]
            seen["snapshot_3"] = shutil.copy(snapshot_path(warehouse), root / "snapshot-after-feed-3.duckdb")
        if day in CHECKPOINTS:
            full = _full_rebuild_of(warehouse, root / f"full-{day:02d}")
            seen["compared"][day] = (
                (_tables(warehouse, ("marts",)), _tables(full, ("marts",))),
                (_tables(snapshot_path(warehouse), SNAPSHOT_SCHEMAS), _tables(snapshot_path(full), SNAPSHOT_SCHEMAS)),
            )
    yield seen
    mp.undo()


def test_each_feed_is_built_incrementally_unless_the_seed_changed(daily_feeds):
    plans, scopes = daily_feeds["plans"], daily_feeds["scopes"]
    assert plans[0].mode == FULL and plans[0].reason == "no earlier build of this warehouse is recorded"
    assert plans[SEED_ADDED_BEFORE].mode == FULL
    assert plans[SEED_ADDED_BEFORE].reason == "the seeds changed since the last build"
    for day in set(range(1, 11)) - {SEED_ADDED_BEFORE}:
        assert plans[day].mode == INCREMENTAL, (day, plans[day].reason)
        assert plans[day].since_load_id == plans[day - 1].max_load_id < plans[day].max_load_id
        # a feed touches a few dozen of the 120-180 patients, never all of them
        assert 10 <= scopes[day] <= 60, (day, scopes[day])
    with duckdb.connect(str(daily_feeds["warehouse"]), read_only=True) as conn:
        modes = conn.execute("SELECT mode FROM audit.builds ORDER BY build_id").fetchall()
    assert [m for (m,) in modes] == ["full"] + ["incremental"] * 5 + ["full"] + ["incremental"] * 4


@pytest.mark.parametrize("day", CHECKPOINTS)
def test_incremental_marts_equal_a_full_rebuild(daily_feeds, day):
    (incremental, full), _ = daily_feeds["compared"][day]
    assert {"marts.fct_lab_result", "marts.fct_bmd_assessment", "marts.fct_deficiency_flags",
            "marts.mg_deficiency_prevalence", "marts.dim_patient"} <= set(full)
    assert len(full["marts.fct_lab_result"][1]) > 500
    assert_equal_tables(incremental, full, f"marts after feed {day}")


@pytest.mark.parametrize("day", CHECKPOINTS)
def test_incremental_snapshot_equals_a_full_rebuilds(daily_feeds, day):
    _, (incremental, full) = daily_feeds["compared"][day]
    assert "marts.mg_deficiency_prevalence" in full
    assert_equal_tables(incremental, full, f"snapshot after feed {day}")


def test_the_code_added_to_the_seed_reaches_results_loaded_before(daily_feeds):
    (incremental, _), _ = daily_feeds["compared"][10]
    columns, rows = incremental["marts.fct_lab_result"]
    codes = [row[columns.index("loinc_code")] for row in rows]
    assert codes.count(UNTRACKED_CODE) == 3 * 7  # feeds 4 to 10, three results each


def test_as_known_at_feed_3_reproduces_the_snapshot_published_then(daily_feeds):
    warehouse = daily_feeds["warehouse"]
    result = build_as_known_at(warehouse, daily_feeds["feed_3_finished"])
    assert result.warehouse != warehouse and result.publish.path != snapshot_path(warehouse)
    with duckdb.connect(str(daily_feeds["snapshot_3"]), read_only=True) as conn:
        then = conn.execute("SELECT max_load_id FROM main.snapshot_info").fetchone()[0]
    with duckdb.connect(str(result.publish.path), read_only=True) as conn:
        info = conn.execute("SELECT max_load_id, built_with_osteoreg, built_with_dbt FROM main.snapshot_info").fetchone()
    assert info[0] == then == result.max_load_id
    assert info[1] and info[2]
    assert_equal_tables(_tables(result.publish.path, SNAPSHOT_SCHEMAS),
                        _tables(daily_feeds["snapshot_3"], SNAPSHOT_SCHEMAS), "as known at feed 3")
    # and the registry now knows more than then
    with duckdb.connect(str(snapshot_path(warehouse)), read_only=True) as conn:
        assert conn.execute("SELECT max_load_id FROM main.snapshot_info").fetchone()[0] > then
