"""`osteoreg sql`: read-only queries on the snapshot, in three output formats; writes refused."""
from __future__ import annotations

import csv
import io
import json

import pytest

from etl import sql
from etl.errors import OsteoregError, UsageError
from etl.publish import snapshot_path

from .warehouses import rows

pytestmark = pytest.mark.slow

PREVALENCE = "SELECT year, n_assessed, prevalence, suppressed FROM marts.mg_deficiency_prevalence_by_year ORDER BY year"


def test_query_returns_the_marts_rows(demo):
    result = sql.query(demo.path, PREVALENCE)
    assert result.columns == ["year", "n_assessed", "prevalence", "suppressed"]
    assert result.rows == rows(snapshot_path(demo.path), PREVALENCE)
    columns, found = result  # unpacks as (columns, rows)
    assert found == result.rows


def test_csv_and_json_carry_the_same_values(demo):
    result = sql.query(demo.path, PREVALENCE)
    parsed = list(csv.DictReader(io.StringIO(sql.render(result, "csv"))))
    assert [int(r["year"]) for r in parsed] == [r[0] for r in result.rows]
    assert [float(r["prevalence"]) if r["prevalence"] else None for r in parsed] == [r[2] for r in result.rows]
    assert {r["suppressed"] for r in parsed} <= {"true", "false"}
    records = json.loads(sql.render(result, "json"))
    assert [(r["year"], r["n_assessed"], r["prevalence"], r["suppressed"]) for r in records] == result.rows


def test_json_turns_dates_and_nulls_into_plain_values(demo):
    result = sql.query(demo.path, "SELECT DATE '2024-03-05' AS d, NULL AS n, 1.5::DECIMAL(4,2) AS x, 'nan'::DOUBLE AS f")
    assert json.loads(sql.render(result, "json")) == [{"d": "2024-03-05", "n": None, "x": 1.5, "f": None}]


def test_table_aligns_columns_and_counts_rows(demo):
    result = sql.query(demo.path, "SELECT 'F' AS sex, 12 AS n UNION ALL SELECT 'unknown', 3 ORDER BY n DESC")
    assert sql.render(result, "table") == "sex       n\n-------  --\nF        12\nunknown   3\n2 rows\n"
    assert sql.render(result, "table", max_rows=1) == "sex   n\n---  --\nF    12\n2 rows (1 not shown)\n"


@pytest.mark.parametrize("statement, kind", [
    ("DELETE FROM marts.dim_patient", "DELETE"),
    ("INSERT INTO marts.dim_patient (patient_key) VALUES ('x')", "INSERT"),
    ("UPDATE marts.dim_patient SET sex = 'F'", "UPDATE"),
    ("CREATE TABLE marts.mine AS SELECT 1", "CREATE"),
    ("DROP TABLE marts.dim_patient", "DROP"),
    ("COPY marts.dim_patient TO '/tmp/out.csv'", "COPY"),
    ("ATTACH '/tmp/other.duckdb' AS other", "ATTACH"),
    ("SET enable_external_access = true", "SET"),
    ("INSTALL httpfs", "INSTALL"),
    ("/* quiet */ force install httpfs", "FORCE INSTALL"),
    ("LOAD httpfs", "LOAD"),
])
def test_writes_are_refused_with_one_sentence(demo, statement, kind):
    before = rows(snapshot_path(demo.path), "SELECT count(*) FROM marts.dim_patient")
    with pytest.raises(UsageError) as refused:
        sql.query(demo.path, statement)
    message = str(refused.value)
    assert message.startswith("`osteoreg sql` is read-only and refuses this " + kind + " statement")
    assert message.count(". ") == 0 and message.endswith(".")
    assert rows(snapshot_path(demo.path), "SELECT count(*) FROM marts.dim_patient") == before


def test_one_statement_at_a_time(demo):
    with pytest.raises(UsageError, match="one statement at a time, and this text holds 2"):
        sql.query(demo.path, "SELECT 1; DELETE FROM marts.dim_patient")


def test_other_files_cannot_be_read_through_the_query(demo, tmp_path):
    secret = tmp_path / "secret.csv"
    secret.write_text("a\n1\n")
    with pytest.raises(UsageError, match="The query failed: Permission Error"):
        sql.query(demo.path, f"SELECT * FROM read_csv('{secret}')")


def test_errors_are_one_sentence(demo, tmp_path):
    with pytest.raises(UsageError, match="The query failed: Catalog Error: Table with name nope does not exist"):
        sql.query(demo.path, "SELECT * FROM nope")
    with pytest.raises(UsageError, match="cannot be parsed"):
        sql.query(demo.path, "SELEKT 1")
    with pytest.raises(OsteoregError, match="No published snapshot .* exists yet"):
        sql.query(tmp_path / "osteoreg.duckdb", "SELECT 1")
    with pytest.raises(UsageError, match="Unknown output format 'xml'"):
        sql.render(sql.QueryResult(["a"], [(1,)]), "xml")


def test_query_file_is_read_or_refused(tmp_path):
    query = tmp_path / "q.sql"
    query.write_text("SELECT 1\n", encoding="utf-8")
    assert sql.read_query_file(query) == "SELECT 1\n"
    with pytest.raises(UsageError, match="cannot be read"):
        sql.read_query_file(tmp_path / "missing.sql")
