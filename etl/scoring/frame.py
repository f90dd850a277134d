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
    # What `fingerprint` states about the rows as read (first and last scan date, XOR of the
    # rows' hashes); not carried over by `subset`.
    read_summary: dict | None = None

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


SAMPLE_TABLE = "scoring_training_ids"


def _draw_sample(conn, max_rows: int, seed: int) -> None:
    """The training sample's ids into the temp table `scoring_training_ids`.

    Within each outcome class, the first ceil(max_rows x class rows / all rows) by
    (hash(subject_id, seed), subject_id); every known row when there are at most `max_rows`.
    One pass over the inputs counts each class and keeps its first `max_rows` ids (min_by's
    top-n, a heap); the class's share is then cut from that list. At 2M assessments numbering
    every row with a window function sorted them all (3.5 s)."""
    conn.execute(f"""
        CREATE OR REPLACE TEMP TABLE {SAMPLE_TABLE} AS
        WITH input AS ({input_sql('assessment')}),
        strata AS (
            SELECT outcome, count(*) AS n,
                   min_by(subject_id, (hash(subject_id, {int(seed)}), subject_id), {int(max_rows)}) AS firsts
            FROM input WHERE outcome IS NOT NULL GROUP BY outcome
        ),
        shares AS (
            SELECT firsts, n, sum(n) OVER () AS all_rows FROM strata
        )
        SELECT unnest(firsts[1:CAST(CASE WHEN all_rows <= {int(max_rows)} THEN n
                                         ELSE ceil({int(max_rows)} * n / all_rows) END AS BIGINT)]) AS subject_id
        FROM shares""").fetchall()


def training_frame(conn, max_rows: int, seed: int) -> Frame:
    """Assessments with a known outcome, in a fixed order; at most `max_rows`, stratified. The
    rows' content hash and scan dates are read with them, for `fingerprint`."""
    _draw_sample(conn, max_rows, seed)
    columns = ", ".join(f"input.{name}" for name in INPUT_COLUMNS)
    sql = f"""
    WITH input AS ({input_sql("assessment")})
    SELECT input.*, hash(input.subject_id, input.outcome, {columns}) AS fingerprint_hash FROM input
    SEMI JOIN {SAMPLE_TABLE} AS ids ON ids.subject_id = input.subject_id
    ORDER BY input.subject_id"""
    table = conn.sql(sql).to_arrow_table()
    conn.execute(f"DROP TABLE {SAMPLE_TABLE}").fetchall()
    frame = _to_frame(table)
    dates = [d for d in table["index_date"].to_pylist() if d is not None]
    hashes = table["fingerprint_hash"].to_numpy(zero_copy_only=False).astype(np.uint64)
    frame.read_summary = {"scan_date_min": min(dates) if dates else None, "scan_date_max": max(dates) if dates else None,
                          "content_hash": int(np.bitwise_xor.reduce(hashes)) if len(hashes) else None}
    return frame


def fingerprint(conn, frame: Frame) -> dict:
    """What the model was trained on: rows, outcomes, scan dates, a hash of the training rows'
    values (the XOR of DuckDB's hash of each row, read with the frame: a rebuild of the same
    data gives the same fingerprint) and the warehouse build."""
    summary = frame.read_summary or {}
    max_load = conn.execute("SELECT max(load_id) FROM audit.loads").fetchall()[0][0]
    n_assessments = conn.execute("SELECT count(*) FROM marts.fct_bmd_assessment").fetchall()[0][0]
    first, last, content = summary.get("scan_date_min"), summary.get("scan_date_max"), summary.get("content_hash")
    return {
        "rows": len(frame),
        "outcomes": int(np.nansum(frame.outcome)),
        "scan_date_min": None if first is None else first.isoformat(),
        "scan_date_max": None if last is None else last.isoformat(),
        "content_hash": None if content is None else f"{content:016x}",
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
