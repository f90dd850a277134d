"""Benchmark of `osteoreg check` against the same checks as one plain DuckDB query.

The plain-SQL bound translates every expectation of every suite in `expectations/` (parameters
filled from the same seeds) into `COUNT(*) FILTER (...)` aggregates, one sub-select per table,
all in one statement: no Great Expectations, no result storage, no Data Docs. The check runs in a
child process exactly as the CLI would call it (`etl.quality.runner.run_checks`), so its time
includes importing Great Expectations. Both are measured in one run, on the same warehouse.

    .venv/bin/python benchmarks/bench_check.py WAREHOUSE [--repeat 2]

WAREHOUSE is a built warehouse (e.g. the 1M-patient one `benchmarks/bench_build.py` leaves in
/tmp/osteoreg_bench_build/osteoreg.duckdb; copy it first: the check writes audit rows).
Target (issue 4): check < 30 s and <= 4x the plain-SQL bound. Prints one JSON object.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from etl import warehouse  # noqa: E402
from etl.quality import seeds  # noqa: E402
from etl.quality.suites import Check, Suite, load_suites  # noqa: E402

_OPERATORS = {"==": "=", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


def _literal(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def _resolve(value, parameters):
    if isinstance(value, dict) and set(value) == {"$PARAMETER"}:
        return parameters[value["$PARAMETER"]]
    return value


def _condition(condition) -> str:
    if not condition:
        return "true"
    kind = condition["type"]
    if kind == "and":
        return " AND ".join(f"({_condition(part)})" for part in condition["conditions"])
    column = f'"{condition["column"]["name"]}"'
    if kind == "nullity":
        return f"{column} IS {'' if condition['is_null'] else 'NOT '}NULL"
    return f"{column} {_OPERATORS[condition['operator']]} {_literal(condition['parameter'])}"


def _aggregate(check: Check, table: str, parameters: dict) -> str:
    """One check as an aggregate counting its failing rows over `table`."""
    kw = {key: _resolve(value, parameters) for key, value in check.kwargs.items()}
    where = _condition(kw.get("row_condition"))
    kind = check.type
    if kind == "expect_column_values_to_not_be_null":
        return f'count(*) FILTER (WHERE {where} AND "{kw["column"]}" IS NULL)'
    if kind == "expect_column_values_to_be_in_set":
        values = ", ".join(_literal(v) for v in kw["value_set"])
        return f'count(*) FILTER (WHERE {where} AND "{kw["column"]}" NOT IN ({values}))'
    if kind == "expect_column_values_to_be_between":
        column, tests = f'"{kw["column"]}"', []
        if kw.get("min_value") is not None:
            tests.append(f"{column} {'<=' if kw.get('strict_min') else '<'} {_literal(kw['min_value'])}")
        if kw.get("max_value") is not None:
            tests.append(f"{column} {'>=' if kw.get('strict_max') else '>'} {_literal(kw['max_value'])}")
        return f"count(*) FILTER (WHERE {where} AND ({' OR '.join(tests)}))"
    if kind == "expect_column_values_to_be_unique":
        return f'count("{kw["column"]}") - count(DISTINCT "{kw["column"]}")'
    if kind == "expect_compound_columns_to_be_unique":
        columns = ", ".join(f'"{c}"' for c in kw["column_list"])
        return f"count(*) - count(DISTINCT row({columns}))"
    if kind == "expect_column_pair_values_to_be_in_set":
        pairs = ", ".join(_literal(f"{a}\x1f{b}") for a, b in kw["value_pairs_set"])
        return (f"count(*) FILTER (WHERE {where} AND \"{kw['column_A']}\" || chr(31) || \"{kw['column_B']}\" "
                f"NOT IN ({pairs}))")
    if kind == "expect_column_pair_values_a_to_be_greater_than_b":
        operator = "<" if kw.get("or_equal") else "<="
        return f'count(*) FILTER (WHERE {where} AND "{kw["column_A"]}" {operator} "{kw["column_B"]}")'
    if kind == "unexpected_rows_expectation":
        return f"(SELECT count(*) FROM ({kw['unexpected_rows_query'].format(batch=table)}))"
    raise ValueError(f"no plain-SQL form for {kind}")


def plain_sql(suites: list[Suite], parameters: dict) -> str:
    selects = []
    for number, suite in enumerate(suites):
        table = f'"{suite.schema_name}"."{suite.table_name}"'
        columns = ",\n    ".join(f'{_aggregate(check, table, parameters)} AS "c{number}_{i}"'
                                for i, check in enumerate(suite.checks))
        selects.append(f"(SELECT\n    {columns}\nFROM {table}) AS s{number}")
    return "SELECT * FROM " + ",\n".join(selects)


_CHILD = """
import json, sys, time
started = time.perf_counter()
from pathlib import Path
from etl.quality.runner import run_checks
imported = time.perf_counter()
run = run_checks(Path(sys.argv[1]))
print(json.dumps({"import_s": imported - started, "run_checks_s": time.perf_counter() - imported,
                  "checks": run.checks, "failed": run.failed, "critical_failed": run.critical_failed,
                  "skipped": run.skipped_suites}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("warehouse", type=Path)
    parser.add_argument("--repeat", type=int, default=2, help="runs of each side; the fastest counts")
    args = parser.parse_args()
    path = args.warehouse.absolute()

    with warehouse.session(path) as conn:
        existing = {row[0] for row in conn.execute(
            "SELECT table_schema || '.' || table_name FROM information_schema.tables").fetchall()}
        suites = [suite for suite in load_suites() if suite.table in existing]
        sql = plain_sql(suites, seeds.expectation_parameters())
        rows = {row[0]: row[1] for row in conn.execute(
            "SELECT schema_name || '.' || table_name, estimated_size FROM duckdb_tables()").fetchall()}
        plain_times = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            conn.execute(sql).fetchall()
            plain_times.append(time.perf_counter() - started)

    check_runs = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        child = subprocess.run([sys.executable, "-c", _CHILD, str(path)], capture_output=True, text=True,
                               cwd=ROOT, check=True)
        report = json.loads(child.stdout.strip().splitlines()[-1])
        report["wall_s"] = time.perf_counter() - started
        check_runs.append(report)

    best = min(check_runs, key=lambda r: r["wall_s"])
    plain = min(plain_times)
    print(json.dumps({
        "warehouse": str(path),
        "rows": {suite.table: rows.get(suite.table) for suite in suites},
        "checks": sum(len(suite.checks) for suite in suites),
        "plain_sql_s": round(plain, 2),
        "check_wall_s": round(best["wall_s"], 2),
        "check_import_s": round(best["import_s"], 2),
        "check_run_checks_s": round(best["run_checks_s"], 2),
        "ratio_wall": round(best["wall_s"] / plain, 2),
        "ratio_run_checks": round(best["run_checks_s"] / plain, 2),
        "target": "check_wall_s < 30 and ratio <= 4",
        "failed": best["failed"], "critical_failed": best["critical_failed"], "skipped": best["skipped"],
        "all_runs": {"plain_sql_s": [round(t, 2) for t in plain_times],
                     "check_wall_s": [round(r["wall_s"], 2) for r in check_runs]},
    }, indent=2))


if __name__ == "__main__":
    main()
