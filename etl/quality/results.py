"""What one check run found, and how it is kept in `audit.quality_runs` / `audit.quality_results`."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

FAILING_KEYS_SAMPLE = 20      # failing rows reported per check, by the suite's row keys


@dataclass
class CheckResult:
    """One expectation's outcome, as one `audit.quality_results` row."""

    suite: str
    check_key: str
    expectation_type: str
    table_name: str
    column_name: str | None
    category: str
    severity: str
    mostly: float | None
    status: str                           # passed / failed / error / skipped
    success: bool | None = None
    element_count: int | None = None
    unexpected_count: int | None = None
    unexpected_percent: float | None = None
    observed_value: Any = None
    failing_row_keys: list[dict[str, Any]] = field(default_factory=list)
    exception_message: str | None = None

    @property
    def failed(self) -> bool:
        return self.status in ("failed", "error")

    @property
    def critical_failed(self) -> bool:
        return self.failed and self.severity == "critical"


@dataclass
class SuiteSummary:
    suite: str
    table: str
    status: str                           # validated / skipped
    checks: int
    passed: int
    failed: int
    critical_failed: int
    reason: str | None = None             # why a suite was skipped


@dataclass
class FailedCheck:
    """A failed (or errored) expectation, enough to say what went wrong in one line."""

    suite: str
    expectation: str
    check_key: str
    table: str
    column: str | None
    category: str
    severity: str
    unexpected_count: int | None
    unexpected_percent: float | None
    exception_message: str | None = None


@dataclass
class CheckRun:
    run_id: int
    started_at: datetime
    finished_at: datetime
    suites: list[SuiteSummary]
    failures: list[FailedCheck]
    data_docs_path: Path | None
    results: list[CheckResult] = field(repr=False, default_factory=list)

    @property
    def checks(self) -> int:
        return sum(suite.checks for suite in self.suites if suite.status == "validated")

    @property
    def failed(self) -> int:
        return sum(suite.failed for suite in self.suites)

    @property
    def critical_failed(self) -> int:
        return sum(suite.critical_failed for suite in self.suites)

    @property
    def skipped_suites(self) -> list[str]:
        return [suite.suite for suite in self.suites if suite.status == "skipped"]

    @property
    def passed(self) -> bool:
        """True when no critical check failed: the pipeline may go on."""
        return self.critical_failed == 0

    def blocking_message(self) -> str | None:
        """One sentence naming the failed critical checks, or None when the pipeline may go on."""
        critical = [failure for failure in self.failures if failure.severity == "critical"]
        if not critical:
            return None
        named = "; ".join(
            f"{f.suite} {f.expectation} on {f.column or f.table}"
            + (f" ({f.unexpected_count} rows)" if f.unexpected_count else "")
            for f in critical[:3]
        )
        more = f" and {len(critical) - 3} more" if len(critical) > 3 else ""
        return (f"{len(critical)} critical quality check(s) failed in run {self.run_id}: {named}{more}; "
                "see audit.quality_results.")


def summarise(suite: str, table: str, results: list[CheckResult], skipped_reason: str | None) -> SuiteSummary:
    if skipped_reason is not None:
        return SuiteSummary(suite, table, "skipped", len(results), 0, 0, 0, skipped_reason)
    failed = [result for result in results if result.failed]
    return SuiteSummary(suite, table, "validated", len(results), len(results) - len(failed), len(failed),
                        sum(result.critical_failed for result in results))


def failures_of(results: list[CheckResult]) -> list[FailedCheck]:
    return [
        FailedCheck(r.suite, r.expectation_type, r.check_key, r.table_name, r.column_name, r.category,
                    r.severity, r.unexpected_count, r.unexpected_percent, r.exception_message)
        for r in results if r.failed
    ]


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, default=str, sort_keys=True)


def write_run(conn: duckdb.DuckDBPyConnection, run: CheckRun, versions: dict[str, str]) -> int:
    """Store the run and its results in one transaction; returns the run id given to it."""
    conn.execute("BEGIN TRANSACTION")
    try:
        run_id = conn.execute("SELECT coalesce(max(run_id), 0) + 1 FROM audit.quality_runs").fetchone()[0]
        conn.execute(
            "INSERT INTO audit.quality_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [run_id, run.started_at, run.finished_at, "passed" if run.passed else "failed",
             sum(s.status == "validated" for s in run.suites), len(run.skipped_suites), run.checks,
             run.failed, run.critical_failed, str(run.data_docs_path) if run.data_docs_path else None,
             versions.get("osteoreg"), versions.get("great_expectations"), versions.get("duckdb")],
        )
        if run.results:
            conn.executemany(
                "INSERT INTO audit.quality_results VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [[run_id, r.suite, r.check_key, r.expectation_type, r.table_name, r.column_name, r.category,
                  r.severity, r.mostly, r.status, r.success, r.element_count, r.unexpected_count,
                  r.unexpected_percent, _json(r.observed_value),
                  _json(r.failing_row_keys) if r.failing_row_keys else None, r.exception_message]
                 for r in run.results],
            )
        conn.execute("COMMIT")
    except Exception:
        conn.execute("ROLLBACK")
        raise
    run.run_id = run_id
    return run_id
