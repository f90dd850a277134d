"""Quality results: one row per check run, one per expectation per run, and their trend.

Like OHDSI's DataQualityDashboard, results are kept for every run so drift between loads can be
queried. No foreign keys (see 0001): `run_id` joins the two tables by convention.

Revision ID: 0002_quality_results
Revises: 0001_initial_schemas
Create Date: 2026-11-22
"""
from alembic import op

revision = "0002_quality_results"
down_revision = "0001_initial_schemas"
branch_labels = None
depends_on = None

UPGRADE = [
    """CREATE TABLE audit.quality_runs (
    run_id                      BIGINT PRIMARY KEY,
    started_at                  TIMESTAMP NOT NULL,
    finished_at                 TIMESTAMP NOT NULL,
    status                      VARCHAR   NOT NULL,   -- passed / failed (a critical check failed)
    suites_validated            INTEGER   NOT NULL,
    suites_skipped              INTEGER   NOT NULL,
    checks                      INTEGER   NOT NULL,
    checks_failed               INTEGER   NOT NULL,
    critical_failed             INTEGER   NOT NULL,
    data_docs_path              VARCHAR,
    osteoreg_version            VARCHAR,
    great_expectations_version  VARCHAR,
    duckdb_version              VARCHAR
    )""",
    """CREATE TABLE audit.quality_results (
    run_id              BIGINT  NOT NULL,
    suite               VARCHAR NOT NULL,
    check_key           VARCHAR NOT NULL,   -- stable across runs: suite, expectation type, column, condition
    expectation_type    VARCHAR NOT NULL,
    table_name          VARCHAR NOT NULL,   -- schema.table
    column_name         VARCHAR,
    category            VARCHAR NOT NULL,   -- Kahn: conformance / completeness / plausibility
    severity            VARCHAR NOT NULL,   -- critical / warning
    mostly              DOUBLE,             -- share of rows that must pass, where failures are allowed
    status              VARCHAR NOT NULL,   -- passed / failed / error / skipped (table not built yet)
    success             BOOLEAN,            -- empty when skipped
    element_count       BIGINT,
    unexpected_count    BIGINT,
    unexpected_percent  DOUBLE,
    observed_value      VARCHAR,            -- JSON text
    failing_row_keys    JSON,               -- a sample of failing rows by the suite's row keys
    exception_message   VARCHAR,
    PRIMARY KEY (run_id, check_key)
    )""",
    # Each check's failure percent per run and its change since the check's previous run.
    """CREATE VIEW audit.quality_trend AS
    WITH per_run AS (
        SELECT
            results.run_id,
            runs.started_at,
            results.suite,
            results.check_key,
            results.expectation_type,
            results.table_name,
            results.column_name,
            results.category,
            results.severity,
            results.status,
            results.element_count,
            results.unexpected_count,
            CASE
                WHEN results.status = 'skipped' THEN NULL
                WHEN results.unexpected_percent IS NOT NULL THEN results.unexpected_percent
                WHEN results.element_count > 0 AND results.unexpected_count IS NOT NULL
                    THEN 100.0 * results.unexpected_count / results.element_count
                WHEN results.success THEN 0.0
                ELSE 100.0
            END AS failure_percent
        FROM audit.quality_results AS results
        JOIN audit.quality_runs AS runs ON runs.run_id = results.run_id
    )
    SELECT
        *,
        failure_percent - lag(failure_percent) OVER (
            PARTITION BY check_key ORDER BY started_at, run_id
        ) AS change_since_previous_run
    FROM per_run""",
]

DOWNGRADE = [
    "DROP VIEW IF EXISTS audit.quality_trend",
    "DROP TABLE IF EXISTS audit.quality_results",
    "DROP TABLE IF EXISTS audit.quality_runs",
]


def upgrade() -> None:
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    for statement in DOWNGRADE:
        op.execute(statement)
