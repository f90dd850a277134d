"""The marts a cluster engine built, copied into the DuckDB warehouse's `marts` schema.

Publishing (etl/publish.py), the quality checks and scoring read the warehouse, so once the
engine's marts replace DuckDB's there they run unchanged: `osteoreg sql` and `osteoreg report`
work the same whatever built the marts. The copy is one transaction: the warehouse holds either
the previous marts or all of the new ones.
"""
from __future__ import annotations

from pathlib import Path

from ..sqltext import identifier, literal
from ..warehouse import session


def replace_marts(warehouse_path: Path, relations: dict[str, str]) -> int:
    """`relations`: mart name -> a DuckDB query reading the engine's rows; returns rows copied."""
    rows = 0
    with session(Path(warehouse_path)) as conn:
        conn.begin()
        conn.execute("CREATE SCHEMA IF NOT EXISTS marts").fetchall()
        existing = dict(conn.execute(
            "SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = 'marts'").fetchall())
        for name, query in relations.items():
            quoted = f"marts.{identifier(name)}"
            if existing.get(name) == "VIEW":
                conn.execute(f"DROP VIEW {quoted}").fetchall()
            conn.execute(f"CREATE OR REPLACE TABLE {quoted} AS {query}").fetchall()
            rows += conn.execute(f"SELECT count(*) FROM {quoted}").fetchall()[0][0]
        conn.commit()
    return rows


def parquet_query(path: Path) -> str:
    return f"SELECT * FROM read_parquet({literal(str(Path(path) / '*.parquet'))})"


__all__ = ["parquet_query", "replace_marts"]
