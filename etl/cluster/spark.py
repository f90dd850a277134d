"""Spark as a build target: a local pyspark session that dbt-spark's `session` method reuses.

The session is started here before dbt runs, with the settings dbt-spark's profile cannot give
a session method well: the master (`local[*]`, or $OSTEOREG_SPARK_MASTER), the warehouse
directory beside the registry (`<stem>.spark/`), Parquet tables (Delta and Iceberg need jars
from Maven), the UTC session time zone, and few shuffle partitions (Spark's 200 make a small
registry's build several times slower). The catalog is Spark's in-memory one, not a Hive
metastore (Derby took minutes to start on the shared test machine): every build declares the
exported raw layer afresh as external Parquet tables partitioned by load (`MSCK REPAIR TABLE`
finds the loads; dropping such a table never deletes the export) and rebuilds the marts in an
emptied warehouse directory; the marts that count are the ones copied into DuckDB.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from .engines import spark_warehouse_dir, type_for
from .export import RAW_TABLES, raw_columns, whole_columns

_WHOLE = (("identity", "patient_map"), ("identity", "patient_references"), ("audit", "loads"))


def session(warehouse_path: Path):
    """The process's Spark session for this registry (pyspark is imported only here)."""
    from pyspark.sql import SparkSession

    home = spark_warehouse_dir(warehouse_path)
    home.mkdir(parents=True, exist_ok=True)
    existing = SparkSession.getActiveSession()
    if existing is None:
        # tables of an earlier process are unknown to the in-memory catalog; their files would
        # block CREATE TABLE AS in the same location
        shutil.rmtree(home / "warehouse", ignore_errors=True)
    builder = (SparkSession.builder
               .master(os.environ.get("OSTEOREG_SPARK_MASTER", "local[*]"))
               .appName("osteoreg")
               .config("spark.sql.warehouse.dir", str(home / "warehouse"))
               .config("spark.sql.catalogImplementation", "in-memory")
               .config("spark.sql.session.timeZone", "UTC")
               .config("spark.sql.shuffle.partitions", os.environ.get("OSTEOREG_SPARK_SHUFFLE_PARTITIONS", "4"))
               .config("spark.sql.sources.default", "parquet")
               .config("spark.sql.ansi.enabled", "false")
               .config("spark.ui.enabled", "false")
               .config("spark.ui.showConsoleProgress", "false")
               .config("spark.driver.memory", os.environ.get("OSTEOREG_SPARK_DRIVER_MEMORY", "2g")))
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def register_raw(spark, directory: Path) -> None:
    """Declare the export's tables in schemas raw, identity and audit (the dbt sources)."""
    directory = Path(directory).absolute()
    for schema in ("raw", "identity", "audit"):
        spark.sql(f"CREATE DATABASE IF NOT EXISTS {schema}")
    for table in RAW_TABLES:
        columns = [(name, kind) for name, kind in raw_columns(directory, table) if name != "load_id"]
        schema = ", ".join(f"`{name}` {type_for('spark', kind)}" for name, kind in columns)
        spark.sql(f"DROP TABLE IF EXISTS raw.{table}")
        spark.sql(f"CREATE TABLE raw.{table} ({schema}, load_id bigint) USING parquet "
                  f"PARTITIONED BY (load_id) LOCATION '{directory / 'raw' / table}'")
        spark.sql(f"MSCK REPAIR TABLE raw.{table}")
    for schema_name, table in _WHOLE:
        columns = whole_columns(directory, schema_name, table)
        schema = ", ".join(f"`{name}` {type_for('spark', kind)}" for name, kind in columns)
        spark.sql(f"DROP TABLE IF EXISTS {schema_name}.{table}")
        spark.sql(f"CREATE TABLE {schema_name}.{table} ({schema}) USING parquet "
                  f"LOCATION '{directory / schema_name / table}'")


def write_marts(spark, names: list[str], out: Path) -> dict[str, Path]:
    """Each mart written as Parquet under `out` (views too), for DuckDB to read back."""
    written = {}
    for name in names:
        path = Path(out) / name
        spark.table(f"marts.{name}").write.mode("overwrite").parquet(str(path))
        written[name] = path
    return written


def mart_names(spark) -> list[str]:
    return sorted(row.tableName for row in spark.sql("SHOW TABLES IN marts").collect() if not row.isTemporary)


__all__ = ["mart_names", "register_raw", "session", "write_marts"]
