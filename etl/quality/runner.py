"""`osteoreg check`: run every suite in DuckDB, keep the results, say whether the pipeline may go on.

Nothing here prints or exits: the CLI renders the returned `CheckRun` and turns
`CheckRun.blocking_message()` into exit status 1.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

from .. import warehouse
from ..errors import BlockingProblem, OsteoregError
from . import seeds
from .results import FAILING_KEYS_SAMPLE, CheckResult, CheckRun, failures_of, summarise, write_run
from .suites import Suite, SuiteError, load_suites


def data_docs_dir(warehouse_path: Path) -> Path:
    """Data Docs live beside the warehouse file, one site per warehouse."""
    warehouse_path = Path(warehouse_path)
    return warehouse_path.parent / f"{warehouse_path.stem}_data_docs"


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)      # audit timestamps are UTC


def _existing_tables(conn) -> set[str]:
    rows = conn.execute("SELECT table_schema || '.' || table_name FROM information_schema.tables").fetchall()
    return {row[0] for row in rows}


def _skipped(suite: Suite) -> list[CheckResult]:
    return [CheckResult(suite=suite.name, check_key=check.key, expectation_type=check.type,
                        table_name=suite.table, column_name=check.column, category=check.category,
                        severity=check.severity, mostly=check.kwargs.get("mostly"), status="skipped")
            for check in suite.checks]


def _complete_unexpected_rows(conn, suite: Suite, results: list[CheckResult]) -> None:
    """Unexpected-rows checks report only a count: add the table's row count and failing keys."""
    custom = [r for r in results if r.expectation_type == "unexpected_rows_expectation" and r.status != "error"]
    if not custom:
        return
    batch = f'(SELECT * FROM "{suite.schema_name}"."{suite.table_name}")'
    rows = conn.execute(f"SELECT count(*) FROM {batch}").fetchone()[0]
    queries = {check.key: check.kwargs["unexpected_rows_query"] for check in suite.checks
               if check.type == "unexpected_rows_expectation"}
    keys = ", ".join(f'"{key}"' for key in suite.row_keys)
    for result in custom:
        result.element_count = rows
        if result.unexpected_count is not None and rows:
            result.unexpected_percent = 100.0 * result.unexpected_count / rows
        if result.status == "failed":
            query = queries[result.check_key].format(batch=batch)
            sample = conn.execute(f"SELECT {keys} FROM ({query}) LIMIT {FAILING_KEYS_SAMPLE}").fetchall()
            result.failing_row_keys = [dict(zip(suite.row_keys, row)) for row in sample]


def _versions() -> dict[str, str]:
    versions = {}
    for name, distribution in (("osteoreg", "osteoreg"), ("great_expectations", "great_expectations"),
                               ("duckdb", "duckdb")):
        try:
            versions[name] = metadata.version(distribution)
        except metadata.PackageNotFoundError:
            versions[name] = "unknown"
    return versions


def gate(run: CheckRun) -> None:
    """Stop the pipeline before scoring when a critical check failed (exit status 1)."""
    message = run.blocking_message()
    if message:
        raise BlockingProblem(message)


def run_checks(warehouse_path: Path, suites: list[str] | None = None,
               progress: Callable[[str], None] | None = None) -> CheckRun:
    """Validate the suites (all, or those named) and store the run; see `CheckRun.passed`.

    A suite whose table does not exist yet (e.g. marts before the first build) is skipped and
    reported as skipped, never as failed.
    """
    warehouse_path = Path(warehouse_path).absolute()
    if not warehouse_path.exists():
        raise OsteoregError(f"The warehouse {warehouse_path} does not exist yet; run `osteoreg ingest` first.")
    chosen = load_suites(suites)
    parameters = seeds.expectation_parameters()
    for suite in chosen:
        missing = suite.parameter_names() - parameters.keys()
        if missing:
            raise SuiteError(f"The suite {suite.name} uses unknown parameter(s) {', '.join(sorted(missing))}; "
                             "see etl/quality/seeds.py for the ones the seeds provide.")
    started_at = _now()
    warehouse.ensure_current(warehouse_path)
    with warehouse.session(warehouse_path) as conn:
        existing = _existing_tables(conn)
    runnable = [suite for suite in chosen if suite.table in existing]

    outcomes: dict[str, list[CheckResult]] = {}
    docs_dir = data_docs_dir(warehouse_path)
    if runnable:
        from .gx_validation import validate

        outcomes = validate(warehouse_path, runnable, parameters, docs_dir, progress)

    summaries, results = [], []
    with warehouse.session(warehouse_path) as conn:
        for suite in chosen:
            if suite.name in outcomes:
                suite_results = outcomes[suite.name]
                _complete_unexpected_rows(conn, suite, suite_results)
                summaries.append(summarise(suite.name, suite.table, suite_results, None))
            else:
                suite_results = _skipped(suite)
                if progress:
                    progress(f"skipping {suite.name}: {suite.table} does not exist yet")
                summaries.append(summarise(suite.name, suite.table, suite_results, f"{suite.table} does not exist yet"))
            results.extend(suite_results)
        run = CheckRun(run_id=0, started_at=started_at, finished_at=_now(), suites=summaries,
                       failures=failures_of(results),
                       data_docs_path=(docs_dir / "index.html") if runnable else None, results=results)
        write_run(conn, run, _versions())
    return run
