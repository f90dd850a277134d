"""The build ledger: one row per `osteoreg build` dbt ran, so the next one knows what it saw.

An incremental build (contract section 9) recomputes the patients the loads after the last
build's `max_load_id` touch; it rebuilds everything by itself when the project's fingerprint (dbt
project files: models, macros, seeds, dbt_project.yml; the osteoreg and dbt versions) or the
rules in effect (`--vars`) differ from the last build's. `mode` is `full` or `incremental` and
`reason` says why, in the words the console prints. A build `--as-known-at` writes into its own
warehouse file and is not recorded here. No foreign keys (see 0001).

Revision ID: 0009_build_ledger
Revises: 0008_restricted_exports
Create Date: 2026-12-02
"""
from alembic import op

revision = "0009_build_ledger"
down_revision = "0008_restricted_exports"
branch_labels = None
depends_on = None

UPGRADE = [
    "CREATE SEQUENCE audit.build_id START 1",
    """CREATE TABLE audit.builds (
    build_id           BIGINT      NOT NULL DEFAULT nextval('audit.build_id'),
    started_at         TIMESTAMPTZ NOT NULL,
    finished_at        TIMESTAMPTZ NOT NULL,
    mode               VARCHAR     NOT NULL,   -- full, incremental, partial (--select) or failed
    reason             VARCHAR     NOT NULL,   -- why this mode (as the console says it)
    since_load_id      BIGINT,                 -- incremental: the loads after this one were new
    max_load_id        BIGINT,                 -- the highest loaded load id this build consumed
    patients_in_scope  BIGINT,                 -- incremental: patients recomputed
    project_fingerprint VARCHAR    NOT NULL,   -- sha256 of the dbt project files and versions
    rules_fingerprint  VARCHAR     NOT NULL,   -- sha256 of the --vars given (rules in effect)
    osteoreg_version   VARCHAR,
    dbt_version        VARCHAR
    )""",
]

DOWNGRADE = [
    "DROP TABLE IF EXISTS audit.builds",
    "DROP SEQUENCE IF EXISTS audit.build_id",
]


def upgrade() -> None:
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    for statement in DOWNGRADE:
        op.execute(statement)
