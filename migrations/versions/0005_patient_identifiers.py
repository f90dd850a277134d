"""Patient identity across formats and hospitals (contract section 2a) and the source's own time
of each result version (contract section 5).

- `identity.patient_references`: the patient (`person_id`) each source reference of
  `identity.patient_map` stands for, as resolved through namespaces and links; `patient_key` is
  the HMAC of it, so a merge or split of identities re-keys rows here, never in the marts.
- `identity.patient_identifiers`: every identifier seen (record numbers, and social-security,
  insurance or FHIR logical ids kept only as sent), with the patient record it belongs to.
- `identity.namespaces`: each source namespace (HL7 CX.4, FHIR identifier.system, a flat
  profile's `patient_id_namespace`) and the registry namespace it was placed in, and why.
- `reported_at` / `version_seq` on the raw result tables: MSH-7/OBX-19, FHIR meta.lastUpdated or
  issued, and the order inside a FHIR history Bundle, which decide which version is current.

Revision ID: 0005_patient_identifiers
Revises: 0003_scoring_models
Create Date: 2026-12-02
"""
from alembic import op

revision = "0005_patient_identifiers"
down_revision = "0004_dated_menopausal_status"
branch_labels = None
depends_on = None

_RESULTS = ("raw.lab_results", "raw.dxa_results", "raw.fractures")

UPGRADE = [
    """CREATE TABLE identity.patient_references (
    patient_id         VARCHAR PRIMARY KEY,
    person_id          VARCHAR NOT NULL,
    resolved_load_id   BIGINT  NOT NULL
    )""",
    """CREATE TABLE identity.patient_identifiers (
    source_format      VARCHAR NOT NULL,
    namespace          VARCHAR NOT NULL,
    id_type            VARCHAR NOT NULL,
    id_value           VARCHAR NOT NULL,
    reference          VARCHAR,
    patient_id         VARCHAR NOT NULL,
    patient_key        VARCHAR,
    first_load_id      BIGINT  NOT NULL,
    last_load_id       BIGINT  NOT NULL,
    PRIMARY KEY (source_format, namespace, id_type, id_value, patient_id)
    )""",
    """CREATE TABLE identity.namespaces (
    namespace          VARCHAR PRIMARY KEY,
    source_format      VARCHAR NOT NULL,
    registry_namespace VARCHAR NOT NULL,
    placed_by          VARCHAR NOT NULL,
    first_load_id      BIGINT  NOT NULL
    )""",
    *[f"ALTER TABLE {t} ADD COLUMN reported_at TIMESTAMP" for t in _RESULTS],
    *[f"ALTER TABLE {t} ADD COLUMN version_seq BIGINT" for t in _RESULTS],
]

DOWNGRADE = [
    *[f"ALTER TABLE {t} DROP COLUMN version_seq" for t in _RESULTS],
    *[f"ALTER TABLE {t} DROP COLUMN reported_at" for t in _RESULTS],
    "DROP TABLE IF EXISTS identity.namespaces",
    "DROP TABLE IF EXISTS identity.patient_identifiers",
    "DROP TABLE IF EXISTS identity.patient_references",
]


def upgrade() -> None:
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    for statement in DOWNGRADE:
        op.execute(statement)
