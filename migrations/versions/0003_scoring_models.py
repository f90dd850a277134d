"""Scoring: which model version is current, where it came from, its card and training fingerprint.

`scoring.models` keeps every version (refits never delete); `is_current` marks the one `osteoreg
score` applies. `scoring.current_risk_scores` shows each assessment's scores from the current
versions only. No foreign keys (see 0001).

Revision ID: 0003_scoring_models
Revises: 0002_quality_results
Create Date: 2026-11-22
"""
from alembic import op

revision = "0003_scoring_models"
down_revision = "0002_quality_results"
branch_labels = None
depends_on = None

UPGRADE = [
    "ALTER TABLE scoring.models ADD COLUMN is_current BOOLEAN NOT NULL DEFAULT false",
    "ALTER TABLE scoring.models ADD COLUMN origin VARCHAR",                # defined / fitted / imported
    "ALTER TABLE scoring.models ADD COLUMN training_fingerprint JSON",
    "ALTER TABLE scoring.models ADD COLUMN model_card JSON",
    """CREATE VIEW scoring.current_risk_scores AS
    SELECT scores.*
    FROM scoring.risk_scores AS scores
    JOIN scoring.models AS models
        ON models.model_name = scores.model_name
       AND models.model_version = scores.model_version
    WHERE models.is_current""",
]

DOWNGRADE = [
    "DROP VIEW IF EXISTS scoring.current_risk_scores",
    "ALTER TABLE scoring.models DROP COLUMN model_card",
    "ALTER TABLE scoring.models DROP COLUMN training_fingerprint",
    "ALTER TABLE scoring.models DROP COLUMN origin",
    "ALTER TABLE scoring.models DROP COLUMN is_current",
]


def upgrade() -> None:
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    for statement in DOWNGRADE:
        op.execute(statement)
