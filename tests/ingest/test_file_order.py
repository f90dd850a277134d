"""Line numbers of CSV rows come from file order, which only a join-free typing query keeps.

DuckDB's CSV reader has no row number, so the loader numbers rows by their order in the typed
stage. These tests pin the three things that order depends on.
"""
from __future__ import annotations

import duckdb
import pytest

from etl.ingest import flat, loader
from etl.ingest.canonical import KINDS, columns
from etl.ingest.loader import ORDER_KEEPING_OPERATORS, ingest_paths, keep_try_cast_lenient, plan_operators
from etl.ingest.profiles import builtin_profiles
from etl.ingest.validate import typed_query

from ..conftest import EXTERNAL

# One canonical file per kind with every column the kind knows, plus a column the registry does not
# use (carried as `extra`).
SAMPLES = {kind: ",".join(columns(kind) + ["ward"]) + "\n" + ",".join("x" for _ in columns(kind) + ["ward"]) + "\n"
           for kind in KINDS}


def _typing_query(conn, path):
    head = path.read_bytes()[: 1 << 16]
    result = flat.read(path, conn, head, builtin_profiles())
    batch = result.batches[0]
    present = [r[0].lower() for r in conn.execute(f"DESCRIBE SELECT * FROM {batch.table}").fetchall()]
    # a profile's own date formats add TRY_STRPTIME branches; they must stay join-free too
    return batch, typed_query(batch.kind, batch.table, present, ["%d.%m.%Y", "%Y%m%d%H%M"], numbered=False)


@pytest.mark.parametrize("kind", list(KINDS))
def test_typing_query_of_every_kind_is_join_free(kind, tmp_path):
    path = tmp_path / f"{kind}.csv"
    path.write_text(SAMPLES[kind])
    with duckdb.connect() as conn:
        batch, query = _typing_query(conn, path)
        assert batch.kind == kind and batch.first_row == 2
        operators = plan_operators(conn, query)
    assert "READ_CSV" in operators
    assert operators <= ORDER_KEEPING_OPERATORS


@pytest.mark.parametrize("name", ["patients.csv", "observations.csv"])
def test_typing_query_through_the_synthea_profile_is_join_free(name):
    with duckdb.connect() as conn:
        _, query = _typing_query(conn, EXTERNAL / "dbt-synthea" / name)
        assert plan_operators(conn, query) <= ORDER_KEEPING_OPERATORS


def test_a_typing_query_with_a_join_is_refused_before_anything_loads(
        tmp_path, write, warehouse_path, secret, query, monkeypatch):
    original = loader.typed_query

    def with_a_semi_join(kind, source, present, formats, numbered=True, **options):
        return (f"SELECT * FROM ({original(kind, source, present, formats, numbered, **options)}) AS q "
                f"WHERE q.patient_id IN (SELECT patient_id FROM {source})")

    monkeypatch.setattr(loader, "typed_query", with_a_semi_join)
    path = write(tmp_path / "in" / "labs.csv", "patient_id,collected_at,code,value,unit\nP1,2024-01-01,2601-3,0.8,mmol/L\n")
    outcome = ingest_paths(warehouse_path, [path]).files[0]
    assert outcome.status == "failed"
    assert "cannot be numbered by line" in outcome.message and "HASH_JOIN" in outcome.message
    assert query("SELECT count(*) FROM raw.lab_results") == [(0,)]


def test_try_cast_of_a_bare_csv_column_quarantines_instead_of_failing_the_file(tmp_path):
    # DuckDB 2.0 pushes a TRY_CAST of a bare CSV column into the reader as a strict read typed by
    # its sniffer, which samples 20,480 rows: a bad date after them failed the whole file.
    path = tmp_path / "dates.csv"
    path.write_text("patient_id,collected_at\n" + "P1,2024-01-01\n" * 30_000 + "P2,2025-02-30\n")
    sql = f"CREATE TABLE t AS SELECT patient_id, TRY_CAST(collected_at AS DATE) AS d FROM read_csv('{path}', all_varchar = true)"
    with duckdb.connect() as conn:
        keep_try_cast_lenient(conn)
        conn.execute(sql)
        assert conn.execute("SELECT count(*), count(d) FROM t").fetchall() == [(30_001, 30_000)]
