"""Partial birth dates (osteoreg issue 13; contract 2, 3, 4): `raw.patients.birth_date_precision`
is `year`, `month` or `day`. HL7 DTM (`1960`, `196001`), FHIR `date` and ISO 8601 reduced
precision are legal birth dates; such a patient loads with her sex, and `birth_date` holds the
first day of the year or month, read only together with the precision (dbt derives the
earliest and latest possible birth date, so no age is guessed). Rows stored before were all
whole dates (partial ones were quarantined), so they are `day`.

The column joins the rows' content hash, so the stored hashes are marked stale
(`audit.loads.hash_probe` emptied) and the next ingest re-hashes every stored row before it
compares re-deliveries with them (see `etl.ingest.loader.refresh_row_hashes`).

Revision ID: 0010_birth_date_precision
Revises: 0008_restricted_exports
Create Date: 2026-12-02
"""
from alembic import op

revision = "0010_birth_date_precision"
down_revision = "0009_build_ledger"
branch_labels = None
depends_on = None

UPGRADE = [
    "ALTER TABLE raw.patients ADD COLUMN birth_date_precision VARCHAR",
    "UPDATE raw.patients SET birth_date_precision = 'day' WHERE birth_date IS NOT NULL",
    "UPDATE audit.loads SET hash_probe = NULL",
]

DOWNGRADE = [
    # A partial birth date has no whole-date form: it goes back to empty, as a quarantined
    # patient row left it before.
    "UPDATE raw.patients SET birth_date = NULL WHERE birth_date_precision IN ('year', 'month')",
    "ALTER TABLE raw.patients DROP COLUMN birth_date_precision",
    "UPDATE audit.loads SET hash_probe = NULL",
]


def upgrade() -> None:
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    for statement in DOWNGRADE:
        op.execute(statement)
