"""What fitting reads: a bounded, outcome-stratified sample of the model inputs, as numpy arrays.

The inputs are `sql/assessment_inputs.sql` over the marts (pre-scan labs, the mart's outcome
where the WHO criteria apply). Fitting never needs every assessment: above `max_fit_rows` a
deterministic hash sample is drawn within each outcome class in proportion to its size, so the
fit's time and memory are bounded whatever the registry's size, and the same data give the same
sample (and so the same model version). Applying a model covers every row, in SQL (`sql.py`).
"""
from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np

from ..errors import OsteoregError
from .linear import INPUT_COLUMNS
from .sql import input_sql

# Days between each pre-scan result and the scan, shown on the model cards.
DAYS_COLUMNS = ("mg_days_before", "beta_ctx_days_before", "vitd_days_before", "p1np_days_before")
REQUIRED_MARTS = ("fct_bmd_assessment", "fct_prescan_labs")


@dataclass
class Frame:
    subject_id: np.ndarray          # object (str): the assessment
    patient_key: np.ndarray         # object (str)
    sex: np.ndarray                 # object (str or None)
    menopausal_status: np.ndarray   # object (str or None)
    columns: dict[str, np.ndarray]  # float64, NaN = empty
    days_before: dict[str, np.ndarray]
    outcome: np.ndarray             # float64: 1, 0 or NaN

    def __len__(self) -> int:
        return len(self.subject_id)

    def subset(self, mask_or_index) -> "Frame":
        return Frame(self.subject_id[mask_or_index], self.patient_key[mask_or_index], self.sex[mask_or_index],
                     self.menopausal_status[mask_or_index],
                     {name: values[mask_or_index] for name, values in self.columns.items()},
                     {name: values[mask_or_index] for name, values in self.days_before.items()},
                     self.outcome[mask_or_index])


def require_marts(conn: duckdb.DuckDBPyConnection) -> None:
    names = ", ".join(f"'{name}'" for name in REQUIRED_MARTS)
    found = conn.execute(
        f"SELECT count(*) FROM information_schema.tables WHERE table_schema = 'marts' AND table_name IN ({names})"
    ).fetchall()[0][0]
    if found < len(REQUIRED_MARTS):
        raise OsteoregError("The marts are not built yet; run `osteoreg build` before scoring.")


def _to_frame(table) -> Frame:
    def array(name: str, kind) -> np.ndarray:
        return table[name].to_numpy(zero_copy_only=False).astype(kind)

    return Frame(
        subject_id=array("subject_id", object), patient_key=array("patient_key", object),
        sex=array("sex", object), menopausal_status=array("menopausal_status", object),
        columns={name: array(name, np.float64) for name in INPUT_COLUMNS},
        days_before={name: array(name, np.float64) for name in DAYS_COLUMNS},
        outcome=array("outcome", np.float64))


def training_frame(conn, max_rows: int, seed: int) -> Frame:
    """Assessments with a known outcome, in a fixed order; at most `max_rows`, stratified."""
    sql = f"""
    WITH input AS ({input_sql("assessment")}),
    known AS (SELECT * FROM input WHERE outcome IS NOT NULL),
    ranked AS (
        SELECT *,
               row_number() OVER (PARTITION BY outcome ORDER BY hash(subject_id, {int(seed)}), subject_id) AS draw,
               count(*) OVER (PARTITION BY outcome) AS stratum_rows,
               count(*) OVER () AS all_rows
        FROM known
    )
    SELECT * EXCLUDE (draw, stratum_rows, all_rows) FROM ranked
    WHERE all_rows <= {int(max_rows)} OR draw <= ceil({int(max_rows)} * stratum_rows / all_rows)
    ORDER BY subject_id"""
    return _to_frame(conn.sql(sql).to_arrow_table())


def fingerprint(conn, frame: Frame) -> dict:
    """What the model was trained on: rows, outcomes, scan dates, a hash of the training rows'
    values (a rebuild of the same data gives the same fingerprint) and the warehouse build."""
    conn.execute("CREATE OR REPLACE TEMP TABLE scoring_training_ids (subject_id VARCHAR)").fetchall()
    conn.execute("INSERT INTO scoring_training_ids SELECT unnest($ids::VARCHAR[])",
                 {"ids": frame.subject_id.tolist()}).fetchall()
    columns = ", ".join(f"input.{name}" for name in INPUT_COLUMNS)
    row = conn.execute(f"""
        WITH input AS ({input_sql("assessment")})
        SELECT min(input.index_date), max(input.index_date),
               bit_xor(hash(input.subject_id, input.outcome, {columns}))
        FROM scoring_training_ids AS ids
        JOIN input ON input.subject_id = ids.subject_id""").fetchall()[0]
    max_load = conn.execute("SELECT max(load_id) FROM audit.loads").fetchall()[0][0]
    n_assessments = conn.execute("SELECT count(*) FROM marts.fct_bmd_assessment").fetchall()[0][0]
    conn.execute("DROP TABLE scoring_training_ids").fetchall()
    return {
        "rows": len(frame),
        "outcomes": int(np.nansum(frame.outcome)),
        "scan_date_min": None if row[0] is None else row[0].isoformat(),
        "scan_date_max": None if row[1] is None else row[1].isoformat(),
        "content_hash": None if row[2] is None else f"{int(row[2]):016x}",
        "warehouse_build_id": f"load_{max_load}-assessments_{n_assessments}",
    }


def days_before_distribution(frame: Frame) -> dict:
    """Per analyte: how many training rows had a pre-scan result and how long before the scan it
    was collected (quartiles, days), as the model cards show it."""
    out = {}
    for name, days in frame.days_before.items():
        present = days[~np.isnan(days)]
        analyte = name.removesuffix("_days_before")
        if len(present) == 0:
            out[analyte] = {"n": 0}
            continue
        q = np.percentile(present, [0, 25, 50, 75, 100])
        out[analyte] = {"n": int(len(present)), "min": float(q[0]), "q1": float(q[1]), "median": float(q[2]),
                        "q3": float(q[3]), "max": float(q[4])}
    return out
