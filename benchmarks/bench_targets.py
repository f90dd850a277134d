"""Build time on Spark `local[2]` and on PostgreSQL against DuckDB, for one raw layer (issue 18).

A synthetic cohort in every format (etl.synth.mixed) is ingested once into DuckDB; the same
warehouse, copied, is then built on DuckDB, on Spark (dbt-spark `session`, local[2]) and on a
throwaway PostgreSQL server (etl.cluster.local_server), each the whole `osteoreg build` path:
export of the raw layer, its placement, dbt (models and unit tests; data tests on DuckDB only,
as in tests/test_build_targets.py) and the copy of the marts back. The marts are compared as in
the equivalence test. Prints one JSON object with seconds per step and rows per second.

    .venv/bin/python benchmarks/bench_targets.py [--patients 100000] [--workdir /tmp/osteoreg_bench_targets]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/osteoreg_bench_targets"))
    parser.add_argument("--targets", default="duckdb,spark,postgres")
    args = parser.parse_args()
    os.environ.setdefault("OSTEOREG_SECRET", "bench-targets-secret-of-at-least-32-characters")
    os.environ.setdefault("OSTEOREG_SPARK_MASTER", "local[2]")

    import duckdb

    from etl.cluster import local_server, spark
    from etl.cluster.targets import build_on
    from etl.ingest.loader import ingest_paths
    from etl.synth.mixed import write_mixed
    from tests.test_build_targets import assert_marts_equal

    shutil.rmtree(args.workdir, ignore_errors=True)
    args.workdir.mkdir(parents=True)
    figures: dict[str, object] = {"patients": args.patients, "load_average_before": os.getloadavg()}
    started = time.perf_counter()
    write_mixed(args.workdir / "input", n_patients=args.patients)
    base = args.workdir / "base" / "osteoreg.duckdb"
    base.parent.mkdir()
    ingest_paths(base, [args.workdir / "input"])
    figures["ingest_seconds"] = round(time.perf_counter() - started, 1)
    with duckdb.connect(str(base), read_only=True) as conn:
        figures["raw_rows"] = sum(conn.execute(f"SELECT count(*) FROM raw.{t}").fetchall()[0][0]
                                  for t in ("patients", "lab_results", "dxa_results", "fractures"))
    built: dict[str, Path] = {}
    for target in args.targets.split(","):
        path = args.workdir / target / "osteoreg.duckdb"
        path.parent.mkdir()
        shutil.copy(base, path)
        server = local_server.start(port=55499) if target == "postgres" else None
        if server:
            os.environ.update(server.environment)
        try:
            started = time.perf_counter()
            build_on(path, target, exclude="resource_type:test")
            seconds = time.perf_counter() - started
        finally:
            if server:
                server.stop()
            if target == "spark":
                spark.session(path).stop()
        figures[f"{target}_build_seconds"] = round(seconds, 1)
        figures[f"{target}_raw_rows_per_second"] = round(figures["raw_rows"] / seconds)
        built[target] = path
    if "duckdb" in built:
        for target, path in built.items():
            if target != "duckdb":
                figures[f"{target}_mart_rows_equal"] = assert_marts_equal(built["duckdb"], path, target)
    figures["load_average_after"] = os.getloadavg()
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
