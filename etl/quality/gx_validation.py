"""Running suites with Great Expectations against the warehouse, inside DuckDB.

Every import of `great_expectations` lives in this module's functions (it costs seconds), and
only `runner.run_checks` calls them. One ephemeral GX context per run: suites come from
`expectations/`, results go to `audit.*`, so GX keeps no state of its own between runs; it only
writes its Data Docs site.
"""
from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .results import FAILING_KEYS_SAMPLE, CheckResult
from .suites import Check, Suite


def _context(docs_dir: Path):
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    from .gx_duckdb import persist_duckdb_connections

    persist_duckdb_connections()
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
        data_docs_sites={
            "osteoreg": {
                "class_name": "SiteBuilder",
                "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            }
        },
    )
    return gx.get_context(project_config=config, mode="ephemeral")


def _gx_suite(suite: Suite):
    import great_expectations as gx
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    expectations = [
        ExpectationConfiguration(type=check.type, kwargs=check.kwargs,
                                 meta={**check.meta, "check_key": check.key}).to_domain_obj()
        for check in suite.checks
    ]
    return gx.ExpectationSuite(name=suite.name, expectations=expectations,
                               meta={"osteoreg": {"table": suite.table, "row_keys": suite.row_keys}})


def _exception_message(exception_info: Any) -> str | None:
    """GX reports exceptions flat or keyed by metric; the first message is enough to act on."""
    if not exception_info:
        return None
    infos = [exception_info] if "raised_exception" in exception_info else list(exception_info.values())
    for info in infos:
        if isinstance(info, dict) and info.get("raised_exception"):
            message = info.get("exception_message") or "exception without message"
            return message.splitlines()[0][:500]
    return None


def _result(suite: Suite, check: Check, outcome) -> CheckResult:
    error = _exception_message(outcome.exception_info)
    payload = outcome.result or {}
    observed = payload.get("observed_value")
    unexpected = payload.get("unexpected_count")
    if check.type == "unexpected_rows_expectation" and isinstance(observed, int):
        unexpected = observed
    keys = [
        {key: row.get(key) for key in suite.row_keys}
        for row in (payload.get("partial_unexpected_index_list") or [])[:FAILING_KEYS_SAMPLE]
        if isinstance(row, dict)
    ]
    return CheckResult(
        suite=suite.name, check_key=check.key, expectation_type=check.type, table_name=suite.table,
        column_name=check.column, category=check.category, severity=check.severity,
        mostly=check.kwargs.get("mostly"),
        status="error" if error else ("passed" if outcome.success else "failed"),
        success=None if error else bool(outcome.success),
        element_count=payload.get("element_count"), unexpected_count=unexpected,
        unexpected_percent=payload.get("unexpected_percent"), observed_value=observed,
        failing_row_keys=keys, exception_message=error,
    )


def _plain_connection(warehouse_path: Path) -> Callable[[], Any]:
    """Connections opened like every other osteoreg connection (`etl.warehouse.connect`).

    duckdb-engine adds a user-agent setting to each connection, and DuckDB refuses a connection
    whose settings differ from those already open on the file in this process (e.g. dbt's, left
    by `osteoreg build` in the same `osteoreg run`). Wrapped as duckdb-engine expects.
    """
    from duckdb_engine import ConnectionWrapper

    from .. import warehouse

    return lambda: ConnectionWrapper(warehouse.connect(warehouse_path))


def _release(datasource) -> None:
    """Close GX's DuckDB connection so the warehouse can be opened again in this process.

    With the persisted-connection fix the execution engine keeps one connection (StaticPool) for
    its life; DuckDB refuses a second connection with another configuration while it is open.
    """
    engine = datasource.get_execution_engine()
    connection = getattr(engine, "_connection", None)
    if connection is not None:
        connection.close()
    engine.close()
    datasource.get_engine().dispose()


def _run(context, batch_definition, suite: Suite, parameters: dict[str, Any]) -> list[CheckResult]:
    """Counts for every check (BASIC), then failing row keys for the failed ones only (SUMMARY).

    Asking GX for row keys makes it run an extra full scan per expectation even when nothing
    fails; failures are rare, so a second, small validation of just the failed checks is cheaper.
    """
    import great_expectations as gx

    def validate_checks(name: str, checks: list[Check], result_format: dict) -> dict[str, Any]:
        gx_suite = context.suites.add(_gx_suite(Suite(name, suite.path, suite.layer, suite.table,
                                                      suite.row_keys, checks)))
        definition = context.validation_definitions.add(
            gx.ValidationDefinition(name=name, data=batch_definition, suite=gx_suite))
        validation = definition.run(expectation_parameters=parameters, result_format=result_format)
        return {outcome.expectation_config.meta["check_key"]: outcome for outcome in validation.results}

    by_key = {check.key: check for check in suite.checks}
    # No sample of unexpected values: the Data Docs render them, and in raw tables they are PHI
    # (birth dates, ids); counts and the row keys (load_id, source_row) say where to look.
    outcomes = validate_checks(suite.name, suite.checks, {"result_format": "BASIC", "partial_unexpected_count": 0})
    results = {key: _result(suite, by_key[key], outcome) for key, outcome in outcomes.items()}
    failed = [by_key[key] for key, result in results.items()
              if result.status == "failed" and by_key[key].type != "unexpected_rows_expectation"]
    if failed:
        detailed = validate_checks(f"{suite.name}.failing_rows", failed, {
            "result_format": "SUMMARY", "unexpected_index_column_names": suite.row_keys,
            "partial_unexpected_count": FAILING_KEYS_SAMPLE})
        for key, outcome in detailed.items():
            results[key].failing_row_keys = _result(suite, by_key[key], outcome).failing_row_keys
    return [results[check.key] for check in suite.checks]


def _forget_failing_row_validations(context) -> None:
    """Drop the second, failing-rows validations from the store before the Data Docs are built:
    their results list the unexpected values themselves, which the docs would show."""
    store = context.validation_results_store
    for key in store.list_keys():
        suite = getattr(getattr(key, "expectation_suite_identifier", None), "name", "")
        if str(suite).endswith(".failing_rows"):
            store.remove_key(key)


def validate(warehouse_path: Path, suites: list[Suite], parameters: dict[str, Any], docs_dir: Path,
             progress: Callable[[str], None] | None = None) -> dict[str, list[CheckResult]]:
    """Validate each suite against its table in one SQL datasource; build Data Docs once at the end."""
    context = _context(docs_dir)
    datasource = context.data_sources.add_sql(
        name="warehouse", connection_string=f"duckdb:///{warehouse_path}",
        kwargs={"creator": _plain_connection(warehouse_path)})
    outcomes: dict[str, list[CheckResult]] = {}
    try:
        for suite in suites:
            if progress:
                progress(f"validating {suite.name} on {suite.table} ({len(suite.checks)} checks)")
            # A query asset, not a table asset: GX reflects a table's columns through SQLAlchemy's
            # PostgreSQL catalog queries, which DuckDB cannot answer (pg_collation), and then
            # falls back to the table name without its schema.
            asset = datasource.add_query_asset(
                name=suite.table, query=f'SELECT * FROM "{suite.schema_name}"."{suite.table_name}"')
            batch_definition = asset.add_batch_definition_whole_table(suite.name)
            outcomes[suite.name] = _run(context, batch_definition, suite, parameters)
        if progress:
            progress("building Data Docs")
        # The site shows the latest run only (history lives in audit.quality_results), so pages
        # of suites or checks that no longer exist must not linger.
        shutil.rmtree(docs_dir, ignore_errors=True)
        _forget_failing_row_validations(context)
        context.build_data_docs(site_names=["osteoreg"])
    finally:
        _release(datasource)
    return outcomes
