"""Initial warehouse: raw, audit, identity and scoring schemas.

Keys are documented columns joined in tests, not foreign keys: DuckDB refuses to drop or alter a
column that a foreign key points to, which would break every downgrade.

Revision ID: 0001_initial_schemas
Revises:
Create Date: 2026-11-22
"""
from alembic import op

revision = "0001_initial_schemas"
down_revision = None
branch_labels = None
depends_on = None

# Every raw row carries where it came from (dlt-style): the load, the file and the row in it.
_LINEAGE = """
    load_id        BIGINT  NOT NULL,
    source_file    VARCHAR NOT NULL,
    source_row     BIGINT  NOT NULL,
    source_format  VARCHAR NOT NULL
"""
# row_hash: 64-bit MD5 of the row's canonical content; the same result delivered twice has the
# same hash (duplicate detection), a correction or another status does not.
_TAIL = """
    row_hash       UBIGINT NOT NULL,
    extra          JSON
"""

UPGRADE = [
    "CREATE SCHEMA IF NOT EXISTS raw",
    "CREATE SCHEMA IF NOT EXISTS audit",
    "CREATE SCHEMA IF NOT EXISTS identity",
    "CREATE SCHEMA IF NOT EXISTS scoring",
    f"""CREATE TABLE raw.patients (
    {_LINEAGE},
    patient_id         VARCHAR NOT NULL,
    sex                VARCHAR,
    birth_date         DATE,
    menopausal_status  VARCHAR,
    ethnicity          VARCHAR,
    {_TAIL})""",
    f"""CREATE TABLE raw.lab_results (
    {_LINEAGE},
    patient_id         VARCHAR   NOT NULL,
    collected_at       TIMESTAMP NOT NULL,
    collected_offset   VARCHAR,
    code               VARCHAR   NOT NULL,
    code_system        VARCHAR   NOT NULL,
    loinc_code         VARCHAR,
    name               VARCHAR,
    value_text         VARCHAR,
    value_num          DOUBLE,
    value_comparator   VARCHAR,
    unit               VARCHAR,
    reference_range    VARCHAR,
    abnormal_flag      VARCHAR,
    status             VARCHAR   NOT NULL,
    accession_id       VARCHAR,
    result_id          VARCHAR,
    is_tracked         BOOLEAN   NOT NULL,
    {_TAIL})""",
    f"""CREATE TABLE raw.dxa_results (
    {_LINEAGE},
    patient_id         VARCHAR NOT NULL,
    scan_date          DATE    NOT NULL,
    scan_offset        VARCHAR,
    site               VARCHAR NOT NULL,
    side               VARCHAR,
    t_score            DOUBLE,
    z_score            DOUBLE,
    bmd_g_cm2          DOUBLE,
    bmc_g              DOUBLE,
    area_cm2           DOUBLE,
    manufacturer       VARCHAR,
    height_cm          DOUBLE,
    weight_kg          DOUBLE,
    status             VARCHAR NOT NULL,
    result_id          VARCHAR,
    {_TAIL})""",
    f"""CREATE TABLE raw.fractures (
    {_LINEAGE},
    patient_id         VARCHAR NOT NULL,
    fracture_date      DATE    NOT NULL,
    site               VARCHAR NOT NULL,
    fragility          BOOLEAN NOT NULL,
    code               VARCHAR,
    code_system        VARCHAR,
    status             VARCHAR NOT NULL,
    result_id          VARCHAR,
    {_TAIL})""",
    """CREATE TABLE audit.loads (
    load_id            BIGINT PRIMARY KEY,
    source_path        VARCHAR   NOT NULL,
    sha256             VARCHAR,
    file_size          BIGINT,
    file_mtime_ns      BIGINT,
    format             VARCHAR,
    kind               VARCHAR,
    profile            VARCHAR,
    rows_read          BIGINT    NOT NULL DEFAULT 0,
    rows_loaded        BIGINT    NOT NULL DEFAULT 0,
    rows_quarantined   BIGINT    NOT NULL DEFAULT 0,
    rows_duplicate     BIGINT    NOT NULL DEFAULT 0,
    rows_untracked     BIGINT    NOT NULL DEFAULT 0,
    rows_skipped       BIGINT    NOT NULL DEFAULT 0,
    status             VARCHAR   NOT NULL,
    message            VARCHAR,
    started_at         TIMESTAMP NOT NULL,
    finished_at        TIMESTAMP,
    osteoreg_version   VARCHAR,
    hash_probe         UBIGINT
    )""",
    """CREATE TABLE audit.quarantine (
    load_id            BIGINT  NOT NULL,
    source_row         BIGINT,
    kind               VARCHAR NOT NULL,
    reason             VARCHAR NOT NULL,
    field              VARCHAR,
    payload            JSON    NOT NULL
    )""",
    """CREATE TABLE identity.patient_map (
    patient_id         VARCHAR PRIMARY KEY,
    patient_key        VARCHAR   NOT NULL,
    first_load_id      BIGINT    NOT NULL,
    created_at         TIMESTAMP NOT NULL
    )""",
    """CREATE TABLE scoring.models (
    model_name         VARCHAR   NOT NULL,
    model_version      VARCHAR   NOT NULL,
    created_at         TIMESTAMP NOT NULL,
    parameters         JSON      NOT NULL,
    metrics            JSON,
    PRIMARY KEY (model_name, model_version)
    )""",
    """CREATE TABLE scoring.risk_scores (
    assessment_id      VARCHAR   NOT NULL,
    patient_key        VARCHAR   NOT NULL,
    model_name         VARCHAR   NOT NULL,
    model_version      VARCHAR   NOT NULL,
    score              DOUBLE,
    risk_probability   DOUBLE,
    risk_band          VARCHAR,
    contributions      JSON,
    scored_at          TIMESTAMP NOT NULL
    )""",
]

DOWNGRADE = [
    "DROP TABLE IF EXISTS scoring.risk_scores",
    "DROP TABLE IF EXISTS scoring.models",
    "DROP TABLE IF EXISTS identity.patient_map",
    "DROP TABLE IF EXISTS audit.quarantine",
    "DROP TABLE IF EXISTS audit.loads",
    "DROP TABLE IF EXISTS raw.fractures",
    "DROP TABLE IF EXISTS raw.dxa_results",
    "DROP TABLE IF EXISTS raw.lab_results",
    "DROP TABLE IF EXISTS raw.patients",
    "DROP SCHEMA IF EXISTS scoring",
    "DROP SCHEMA IF EXISTS identity",
    "DROP SCHEMA IF EXISTS audit",
    "DROP SCHEMA IF EXISTS raw",
]


def upgrade() -> None:
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    for statement in DOWNGRADE:
        op.execute(statement)
