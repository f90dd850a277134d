"""Dated menopausal status (contract 2 and 6): the status recorded at a scan
(`raw.dxa_results.menopausal_status`) and the date a patient's status was recorded
(`raw.patients.menopausal_status_date`), both optional.

The two columns join the rows' content hash, so the stored hashes are marked stale
(`audit.loads.hash_probe` emptied) and the next ingest re-hashes every stored row before it
compares re-deliveries with them (see `etl.ingest.loader.refresh_row_hashes`).

Revision ID: 0004_dated_menopausal_status
Revises: 0003_scoring_models
Create Date: 2026-12-02
"""
from alembic import op

revision = "0004_dated_menopausal_status"
down_revision = "0003_scoring_models"
branch_labels = None
depends_on = None

UPGRADE = [
    "ALTER TABLE raw.dxa_results ADD COLUMN menopausal_status VARCHAR",
    "ALTER TABLE raw.patients ADD COLUMN menopausal_status_date DATE",
    "UPDATE audit.loads SET hash_probe = NULL",
]

DOWNGRADE = [
    "ALTER TABLE raw.patients DROP COLUMN menopausal_status_date",
    "ALTER TABLE raw.dxa_results DROP COLUMN menopausal_status",
    "UPDATE audit.loads SET hash_probe = NULL",
]


def upgrade() -> None:
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    for statement in DOWNGRADE:
        op.execute(statement)
