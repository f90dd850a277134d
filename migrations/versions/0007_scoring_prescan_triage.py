"""Scoring after osteoreg issue 15: reasons, compact contributions, change detection, triage.

- `scoring.risk_scores` gains `not_scored_reason` (outside the model's population, or the input
  it lacks: such rows are kept with an empty score, so nothing is silently left out),
  `band_note` (why a scored row has no band, e.g. OST for men), `contribution_values FLOAT[]`
  (per-term contributions in the order of the model's `parameters.terms`; the JSON column stays
  for rows written before) and `inputs_hash` (the hash of what the model read: a re-run rescores
  only rows whose inputs changed).
- `scoring.risk_score_contributions` names each contribution by its term.
- `scoring.dxa_referral_candidates` (restricted, row-level): pre-DXA triage, patients with labs
  and no recent DXA ranked by the triage model's estimated probability at their latest panel.

Revision ID: 0007_scoring_prescan_triage
Revises: 0003_scoring_models
Create Date: 2026-12-02
"""
from alembic import op

revision = "0007_scoring_prescan_triage"
down_revision = "0006_result_keys"
branch_labels = None
depends_on = None

UPGRADE = [
    "ALTER TABLE scoring.risk_scores ADD COLUMN not_scored_reason VARCHAR",
    "ALTER TABLE scoring.risk_scores ADD COLUMN band_note VARCHAR",
    "ALTER TABLE scoring.risk_scores ADD COLUMN contribution_values FLOAT[]",
    "ALTER TABLE scoring.risk_scores ADD COLUMN inputs_hash UBIGINT",
    """CREATE VIEW scoring.risk_score_contributions AS
    SELECT scores.assessment_id, scores.patient_key, scores.model_name, scores.model_version,
           unnest(CAST(json_extract_string(models.parameters, '$.terms[*].name') AS VARCHAR[])) AS term,
           unnest(scores.contribution_values) AS contribution
    FROM scoring.risk_scores AS scores
    JOIN scoring.models AS models
        ON models.model_name = scores.model_name
       AND models.model_version = scores.model_version
    WHERE scores.contribution_values IS NOT NULL""",
    """CREATE TABLE scoring.dxa_referral_candidates (
    patient_key        VARCHAR   NOT NULL,
    index_date         DATE      NOT NULL,
    model_name         VARCHAR   NOT NULL,
    model_version      VARCHAR   NOT NULL,
    referral_rank      BIGINT    NOT NULL,
    score              DOUBLE    NOT NULL,
    risk_probability   DOUBLE,
    risk_band          VARCHAR,
    drivers            VARCHAR,
    scored_at          TIMESTAMP NOT NULL
    )""",
]

DOWNGRADE = [
    "DROP TABLE IF EXISTS scoring.dxa_referral_candidates",
    "DROP VIEW IF EXISTS scoring.risk_score_contributions",
    "ALTER TABLE scoring.risk_scores DROP COLUMN inputs_hash",
    "ALTER TABLE scoring.risk_scores DROP COLUMN contribution_values",
    "ALTER TABLE scoring.risk_scores DROP COLUMN band_note",
    "ALTER TABLE scoring.risk_scores DROP COLUMN not_scored_reason",
]


def upgrade() -> None:
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    for statement in DOWNGRADE:
        op.execute(statement)
