"""Restricted exports: who took row-level data out of the snapshot, when, and what.

`osteoreg report` publishes aggregates only (contract section 6); row-level marts leave the
restricted snapshot only through `osteoreg export --restricted`, and each such export is a row
here (the OS user, the time, the tables, the folder and the rows written). No foreign keys (see
0001).

Revision ID: 0008_restricted_exports
Revises: 0003_scoring_models
Create Date: 2026-12-02
"""
from alembic import op

revision = "0008_restricted_exports"
down_revision = "0007_scoring_prescan_triage"
branch_labels = None
depends_on = None

UPGRADE = [
    "CREATE SEQUENCE audit.restricted_export_id START 1",
    """CREATE TABLE audit.restricted_exports (
    export_id          BIGINT      NOT NULL DEFAULT nextval('audit.restricted_export_id'),
    os_user            VARCHAR     NOT NULL,   -- the operating-system account that asked
    requested_at       TIMESTAMPTZ NOT NULL,
    tables             VARCHAR     NOT NULL,   -- JSON list of schema.table
    out_dir            VARCHAR     NOT NULL,
    rows_written       BIGINT      NOT NULL,
    snapshot_published_at TIMESTAMPTZ          -- which publication the rows came from
    )""",
]

DOWNGRADE = [
    "DROP TABLE IF EXISTS audit.restricted_exports",
    "DROP SEQUENCE IF EXISTS audit.restricted_export_id",
]


def upgrade() -> None:
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    for statement in DOWNGRADE:
        op.execute(statement)
