"""PostgreSQL as a build target: the raw layer copied into the server's schemas, marts copied out.

The server is the one the usual libpq variables name (PGHOST, PGPORT, PGUSER, PGPASSWORD,
PGDATABASE; database `osteoreg` by default), as in dbt_project/profiles.yml. `copy_raw` sends the
exported loads the server does not have yet (COPY, table `raw.exported_loads` says which it has)
and rewrites the identity keys and the ledger, all in one transaction: a load arrives whole or
not at all. `marts_as_csv` streams each mart out with COPY for DuckDB to read back.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import duckdb

from ..errors import OsteoregError
from ..sqltext import literal
from .engines import type_for
from .export import RAW_TABLES, exported_loads, raw_columns, whole_columns

_WHOLE = (("identity", "patient_map"), ("identity", "patient_references"), ("audit", "loads"))
# PostgreSQL's information_schema type names -> DuckDB's, for the marts read back.
_TO_DUCKDB = {"text": "VARCHAR", "character varying": "VARCHAR", "integer": "INTEGER", "bigint": "BIGINT",
              "smallint": "SMALLINT", "double precision": "DOUBLE", "real": "FLOAT", "numeric": "DOUBLE",
              "boolean": "BOOLEAN", "date": "DATE", "timestamp without time zone": "TIMESTAMP",
              "timestamp with time zone": "TIMESTAMPTZ"}


def connect():
    """A psycopg2 connection from the libpq environment (imported only for this target)."""
    import psycopg2

    try:
        return psycopg2.connect(dbname=os.environ.get("PGDATABASE", "osteoreg"))
    except psycopg2.OperationalError as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise OsteoregError(f"Cannot connect to PostgreSQL (PGHOST={os.environ.get('PGHOST', 'localhost')}, "
                            f"PGPORT={os.environ.get('PGPORT', '5432')}): {first}.") from error


def _csv_of(query: str, path: Path) -> None:
    with duckdb.connect() as conn:
        conn.execute(f"COPY ({query}) TO {literal(path)} (FORMAT csv, HEADER true)").fetchall()


def _copy_in(cursor, table: str, columns: list[str], path: Path) -> None:
    names = ", ".join(f'"{name}"' for name in columns)
    with open(path, encoding="utf-8") as handle:
        cursor.copy_expert(f"COPY {table} ({names}) FROM STDIN WITH (FORMAT csv, HEADER true)", handle)


def copy_raw(directory: Path) -> int:
    """Copy the loads of the export the server lacks; returns the raw rows copied."""
    directory = Path(directory)
    scratch = Path(tempfile.mkdtemp(prefix="osteoreg-pg-"))
    rows = 0
    try:
        with contextlib.closing(connect()) as conn, conn.cursor() as cursor:
            for schema in ("raw", "identity", "audit"):
                cursor.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
            cursor.execute("CREATE TABLE IF NOT EXISTS raw.exported_loads (load_id bigint PRIMARY KEY)")
            for table in RAW_TABLES:
                columns = raw_columns(directory, table)
                spec = ", ".join(f'"{name}" {type_for("postgres", kind)}' for name, kind in columns)
                cursor.execute(f"CREATE TABLE IF NOT EXISTS raw.{table} ({spec})")
            cursor.execute("SELECT load_id FROM raw.exported_loads")
            present = {row[0] for row in cursor.fetchall()}
            new = sorted(exported_loads(directory) - present)
            for table in RAW_TABLES:
                columns = [name for name, _ in raw_columns(directory, table)]
                files = [directory / "raw" / table / f"load_id={load}" for load in new]
                files = [str(path / "*.parquet") for path in files if path.exists()]
                if not files:
                    continue
                select = ", ".join(f'"{name}"' for name in columns)
                csv = scratch / f"{table}.csv"
                _csv_of(f"SELECT {select} FROM read_parquet({files!r}, hive_partitioning = true)", csv)
                _copy_in(cursor, f"raw.{table}", columns, csv)
                rows += cursor.rowcount
            for load in new:
                cursor.execute("INSERT INTO raw.exported_loads VALUES (%s)", (load,))
            for schema, table in _WHOLE:
                columns = whole_columns(directory, schema, table)
                spec = ", ".join(f'"{name}" {type_for("postgres", kind)}' for name, kind in columns)
                # emptied, not dropped: the staging views of the last build depend on them
                cursor.execute(f"CREATE TABLE IF NOT EXISTS {schema}.{table} ({spec})")
                cursor.execute(f"TRUNCATE {schema}.{table}")
                csv = scratch / f"{schema}.{table}.csv"
                _csv_of(f"SELECT * FROM read_parquet({literal(directory / schema / table / 'data.parquet')})", csv)
                _copy_in(cursor, f"{schema}.{table}", [name for name, _ in columns], csv)
            conn.commit()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return rows


@contextlib.contextmanager
def marts_as_csv(warehouse_path: Path) -> Iterator[dict[str, str]]:
    """Every table and view of the server's `marts` as a CSV file and the DuckDB query reading it
    with the server's column types (quoted empty text stays text, an unquoted empty is NULL)."""
    scratch = Path(tempfile.mkdtemp(prefix="osteoreg-pg-marts-", dir=Path(warehouse_path).parent))
    try:
        relations: dict[str, str] = {}
        with contextlib.closing(connect()) as conn, conn.cursor() as cursor:
            cursor.execute("SELECT table_name, column_name, data_type FROM information_schema.columns "
                           "WHERE table_schema = 'marts' ORDER BY table_name, ordinal_position")
            tables: dict[str, list[tuple[str, str]]] = {}
            for table, column, data_type in cursor.fetchall():
                tables.setdefault(table, []).append((column, _TO_DUCKDB.get(data_type, "VARCHAR")))
            cursor.execute("SET extra_float_digits = 3")   # doubles as exactly as they are stored
            for table, columns in tables.items():
                path = scratch / f"{table}.csv"
                with open(path, "w", encoding="utf-8") as handle:
                    cursor.copy_expert(f'COPY (SELECT * FROM marts."{table}") TO STDOUT WITH (FORMAT csv, HEADER true)',
                                       handle)
                types = "{" + ", ".join(f"{literal(name)}: {literal(kind)}" for name, kind in columns) + "}"
                relations[table] = (f"SELECT * FROM read_csv({literal(path)}, header = true, columns = {types}, "
                                    "allow_quoted_nulls = false, auto_detect = false)")
        yield relations
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


__all__ = ["connect", "copy_raw", "marts_as_csv"]
