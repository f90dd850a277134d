"""etl/sqltext.py: quoting that DuckDB reads back as the text it was given."""
from __future__ import annotations

from pathlib import Path

import duckdb

from etl.sqltext import identifier, literal, literal_list


def test_literals_and_identifiers_round_trip_through_duckdb(tmp_path):
    awkward = ["O'Brien", "it''s", "", "a\"b", "semi; DROP TABLE x; --", "ünïcode"]
    con = duckdb.connect()
    assert [con.execute(f"SELECT {literal(text)}").fetchone()[0] for text in awkward] == awkward
    table, column = identifier('we"ird table'), identifier('col "1"')
    con.execute(f"CREATE TABLE {table} ({column} INTEGER)")
    con.execute(f"INSERT INTO {table} VALUES (1)")
    assert con.execute("SELECT table_name, column_name FROM information_schema.columns").fetchall() == [
        ('we"ird table', 'col "1"')]
    assert con.execute(f"SELECT 'b' IN ({literal_list(['a', 'b'])}), 'c' IN ({literal_list(['a'])})").fetchone() == (
        True, False)


def test_a_path_with_a_quote_attaches(tmp_path):
    folder = tmp_path / "o'brien"
    folder.mkdir()
    path = folder / "w.duckdb"
    duckdb.connect(str(path)).execute("CREATE TABLE t AS SELECT 7 AS x").close()
    con = duckdb.connect()
    con.execute(f"ATTACH {literal(Path(path))} AS src (READ_ONLY)")
    assert con.execute("SELECT x FROM src.t").fetchone() == (7,)
