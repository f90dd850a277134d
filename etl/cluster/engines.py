"""The engines a build can run on, and what each needs before and after dbt (contract section 8).

`prepare` puts the exported raw layer where the engine reads it; `collect` brings the engine's
marts back into the DuckDB warehouse (schema `marts`, replaced whole), so publishing, checks,
scoring and the report read them exactly as after a DuckDB build.
"""
from __future__ import annotations

from pathlib import Path

from ..errors import UsageError

TARGETS = ("duckdb", "spark", "postgres")


def check_target(target: str) -> str:
    chosen = (target or "duckdb").strip().lower()
    if chosen not in TARGETS:
        raise UsageError(f"--target must be one of {', '.join(TARGETS)}, not {target!r}.")
    return chosen


def type_for(engine: str, duckdb_type: str) -> str:
    """A DuckDB column type in the engine's spelling (raw layer columns only use these)."""
    base = duckdb_type.upper()
    spark = {"VARCHAR": "string", "BIGINT": "bigint", "INTEGER": "int", "DOUBLE": "double",
             "BOOLEAN": "boolean", "DATE": "date", "TIMESTAMP": "timestamp_ntz"}
    postgres = {"VARCHAR": "text", "BIGINT": "bigint", "INTEGER": "integer", "DOUBLE": "double precision",
                "BOOLEAN": "boolean", "DATE": "date", "TIMESTAMP": "timestamp"}
    table = spark if engine == "spark" else postgres
    if base not in table:
        raise UsageError(f"The raw layer has a column of type {duckdb_type}, which the {engine} export does not map.")
    return table[base]


def spark_warehouse_dir(warehouse_path: Path) -> Path:
    """Spark's tables and metastore: `<stem>.spark/` beside the registry."""
    warehouse_path = Path(warehouse_path)
    return warehouse_path.with_name(f"{warehouse_path.stem}.spark")


__all__ = ["TARGETS", "check_target", "spark_warehouse_dir", "type_for"]
