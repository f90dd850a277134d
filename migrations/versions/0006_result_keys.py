"""Lab results carry `result_key`: the sender's resource id keyed like a patient id (HMAC).

A FHIR Observation id often carries the patient's record number (`mrn12345-mg-2024`); the marts
show `result_key` in its place so the id never leaves `raw`. The key needs the secret, which never
enters the database, so rows loaded before this revision get theirs at the next `ingest`.

Revision ID: 0006_result_keys
Revises: 0003_scoring_models
Create Date: 2026-12-02
"""
from alembic import op

revision = "0006_result_keys"
down_revision = "0005_patient_identifiers"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE raw.lab_results ADD COLUMN result_key VARCHAR")


def downgrade() -> None:
    op.execute("ALTER TABLE raw.lab_results DROP COLUMN result_key")
