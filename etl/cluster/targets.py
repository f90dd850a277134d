"""`osteoreg build --target spark|postgres`: export, put the raw layer in place, dbt, copy back.

1. `export-raw` appends the loads not yet exported to `<stem>.raw/` beside the warehouse;
2. Spark declares them as external Parquet tables; PostgreSQL copies the new loads into its
   `raw` schema (etl/cluster/postgres.py);
3. the same dbt project builds on the engine (etl/build.py with the profile's target);
4. the engine's marts replace the warehouse's (etl/cluster/marts.py), ready to publish.
Ingestion stays in DuckDB.
"""
from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from ..build import BuildResult
from ..build import build as dbt_build
from . import postgres, spark
from .engines import check_target, spark_warehouse_dir
from .export import default_export_dir, export_raw
from .marts import parquet_query, replace_marts


def build_on(warehouse_path: Path, target: str = "duckdb", vars: dict | None = None, select: str | None = None,
             progress: Callable[[str], None] | None = None, exclude: str | None = None,
             full_refresh: bool = False) -> BuildResult:
    target = check_target(target)
    warehouse_path = Path(warehouse_path).absolute()
    if target == "duckdb":
        return dbt_build(warehouse_path, vars=vars, select=select, progress=progress, exclude=exclude,
                         full_refresh=full_refresh)
    say = progress or (lambda line: None)
    exported = export_raw(warehouse_path, default_export_dir(warehouse_path))
    say(f"export-raw: {len(exported.new_loads)} new load(s), {exported.rows:,} raw rows")
    if target == "spark":
        session = spark.session(warehouse_path)
        spark.register_raw(session, exported.directory)
    else:
        copied = postgres.copy_raw(exported.directory)
        say(f"postgres raw: {copied:,} rows copied")
    result = dbt_build(warehouse_path, vars=vars, select=select, progress=progress, exclude=exclude, target=target)
    if target == "spark":
        out = spark_warehouse_dir(warehouse_path) / "marts-out"
        shutil.rmtree(out, ignore_errors=True)
        written = spark.write_marts(session, spark.mart_names(session), out)
        replace_marts(warehouse_path, {name: parquet_query(path) for name, path in written.items()})
        shutil.rmtree(out, ignore_errors=True)
    else:
        with postgres.marts_as_csv(warehouse_path) as relations:
            replace_marts(warehouse_path, relations)
    return result


__all__ = ["build_on"]
