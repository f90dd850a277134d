"""What scoring reads: one row per assessment from the marts, never from raw tables.

Columns come as numpy float arrays (NaN = empty) because every model is applied column-wise.
The outcome is 1 when `who_category` is one of the settings' outcome categories, NaN when the
category is empty (no usable T-score), so such assessments are scored but never trained on.
"""
from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np

from ..errors import OsteoregError

ASSESSMENTS = "marts.fct_bmd_assessment"
FLAGS = "marts.fct_deficiency_flags"

# Mart column -> what it holds; every model's terms name one of these.
NUMERIC_COLUMNS = {
    "age_at_scan": "assessment.age_at_scan",
    "weight_kg": "assessment.weight_kg",
    "bmi": "assessment.bmi",
    "mg_mmol_l": "flags.mg_mmol_l",
    "phosphate_mmol_l": "flags.phosphate_mmol_l",
    "calcium_mmol_l": "flags.calcium_mmol_l",
    "vitd_nmol_l": "flags.vitd_nmol_l",
    "pth_ng_l": "flags.pth_ng_l",
    "crp_mg_l": "flags.crp_mg_l",
    "beta_ctx_ng_ml": "flags.beta_ctx_ng_ml",
    "p1np_ng_ml": "flags.p1np_ng_ml",
}


@dataclass
class Frame:
    assessment_id: np.ndarray       # object (str)
    patient_key: np.ndarray         # object (str)
    columns: dict[str, np.ndarray]  # float64, NaN = empty
    outcome: np.ndarray             # float64: 1, 0 or NaN

    def __len__(self) -> int:
        return len(self.assessment_id)

    def subset(self, mask_or_index) -> "Frame":
        return Frame(self.assessment_id[mask_or_index], self.patient_key[mask_or_index],
                     {name: values[mask_or_index] for name, values in self.columns.items()},
                     self.outcome[mask_or_index])


def require_marts(conn: duckdb.DuckDBPyConnection) -> None:
    found = conn.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'marts' "
        "AND table_name IN ('fct_bmd_assessment', 'fct_deficiency_flags')").fetchall()[0][0]
    if found < 2:
        raise OsteoregError("The marts are not built yet; run `osteoreg build` before scoring.")


def _select(outcome_categories: tuple[str, ...]) -> str:
    numeric = ",\n        ".join(f"CAST({source} AS DOUBLE) AS {name}" for name, source in NUMERIC_COLUMNS.items())
    categories = ", ".join("'" + category.replace("'", "''") + "'" for category in outcome_categories)
    return f"""
    SELECT
        assessment.assessment_id,
        assessment.patient_key,
        {numeric},
        CASE WHEN assessment.who_category IS NULL THEN NULL
             WHEN assessment.who_category IN ({categories}) THEN 1.0 ELSE 0.0 END AS outcome
    FROM {ASSESSMENTS} AS assessment
    LEFT JOIN {FLAGS} AS flags ON flags.assessment_id = assessment.assessment_id"""


def _to_frame(table) -> Frame:
    def floats(name: str) -> np.ndarray:
        return table[name].to_numpy(zero_copy_only=False).astype(np.float64)

    return Frame(
        assessment_id=table["assessment_id"].to_numpy(zero_copy_only=False).astype(object),
        patient_key=table["patient_key"].to_numpy(zero_copy_only=False).astype(object),
        columns={name: floats(name) for name in NUMERIC_COLUMNS},
        outcome=floats("outcome"),
    )


def training_frame(conn, outcome_categories: tuple[str, ...], max_rows: int, seed: int) -> Frame:
    """Assessments with a known outcome in a fixed order (the same data give the same fit); above
    `max_rows`, a deterministic hash sample of that size."""
    sql = f"""
    SELECT * FROM ({_select(outcome_categories)}) AS frame
    WHERE outcome IS NOT NULL
    ORDER BY hash(assessment_id, {int(seed)})
    LIMIT {int(max_rows)}"""
    table = conn.sql(sql).to_arrow_table()
    order = np.argsort(table["assessment_id"].to_numpy(zero_copy_only=False).astype(str), kind="stable")
    return _to_frame(table.take(order))


def unscored_frame(conn, outcome_categories: tuple[str, ...], model_name: str, model_version: str) -> Frame:
    """Every assessment without a row for this model version in scoring.risk_scores."""
    sql = f"""
    SELECT * FROM ({_select(outcome_categories)}) AS frame
    WHERE NOT EXISTS (
        SELECT 1 FROM scoring.risk_scores AS scored
        WHERE scored.model_name = $name AND scored.model_version = $version
          AND scored.assessment_id = frame.assessment_id)"""
    table = conn.sql(sql, params={"name": model_name, "version": model_version}).to_arrow_table()
    return _to_frame(table)


def fingerprint(conn, frame: Frame, outcome_categories: tuple[str, ...]) -> dict:
    """What the model was trained on: rows, outcomes, scan dates and the warehouse build.

    dbt does not record its invocation id in the warehouse, so the build id is the newest load
    (audit.loads) with the two marts' row counts; `content_hash` additionally hashes the training
    rows' values, so a rebuild of the same data gives the same fingerprint.
    """
    conn.execute("CREATE OR REPLACE TEMP TABLE scoring_training_ids (assessment_id VARCHAR)").fetchall()
    conn.execute("INSERT INTO scoring_training_ids SELECT unnest($ids::VARCHAR[])",
                 {"ids": frame.assessment_id.tolist()}).fetchall()
    columns = ", ".join(f"frame.{name}" for name in NUMERIC_COLUMNS)
    row = conn.execute(f"""
        SELECT min(assessment.scan_date), max(assessment.scan_date),
               bit_xor(hash(frame.assessment_id, frame.outcome, {columns}))
        FROM scoring_training_ids AS ids
        JOIN ({_select(outcome_categories)}) AS frame ON frame.assessment_id = ids.assessment_id
        JOIN {ASSESSMENTS} AS assessment ON assessment.assessment_id = ids.assessment_id""").fetchall()[0]
    max_load = conn.execute("SELECT max(load_id) FROM audit.loads").fetchall()[0][0]
    n_assessments = conn.execute(f"SELECT count(*) FROM {ASSESSMENTS}").fetchall()[0][0]
    n_flags = conn.execute(f"SELECT count(*) FROM {FLAGS}").fetchall()[0][0]
    conn.execute("DROP TABLE scoring_training_ids").fetchall()
    return {
        "rows": len(frame),
        "outcomes": int(np.nansum(frame.outcome)),
        "scan_date_min": None if row[0] is None else row[0].isoformat(),
        "scan_date_max": None if row[1] is None else row[1].isoformat(),
        "content_hash": None if row[2] is None else f"{int(row[2]):016x}",
        "warehouse_build_id": f"load_{max_load}-assessments_{n_assessments}-flags_{n_flags}",
    }
