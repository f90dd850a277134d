"""HL7 v2 DXA results (osteoreg issue 13, contract 3 and 7): an ORU whose OBX segments carry the
DXA LOINC codes loads them into `raw.dxa_results` (one row per measure, one OBR per scan), and
its other OBX segments stay lab results. The marts side (one scan, a correction) is asserted on
the one build of tests/ingest/test_partial_birth_dates.py."""
from __future__ import annotations

from etl.ingest.loader import ingest_paths

MSH = "MSH|^~\\&|DXA|HOSP|REG|OST|{ts}||ORU^R01|{id}|P|2.5.1\r"
PID = "PID|1||P1^^^HOSPA^MR||DOE^J||19500101|F\r"


def message(ts: str, msg_id: str, obr: str, *obx: str) -> str:
    return MSH.format(ts=ts, id=msg_id) + PID + obr + "".join(obx)


SCAN = message(
    "20240310090000", "M1", "OBR|1||S1|38269-7^DXA panel^LN|||20240310090000\r",
    "OBX|1|NM|80948-3^Femur neck left T-score^LN||-2.6|{T-score}|||||F\r",
    "OBX|2|NM|80954-1^Femur neck left BMD^LN||810|mg/cm2|||||F\r",
    "OBX|3|NM|24966-4^Lumbar spine BMD^LN||0.95|g/cm2|||||F\r",
    "OBX|4|NM|LSZ^Lumbar Z^L^85394-5^DXA L1-L4 Z-score^LN||-1.1||||||F\r",
    "OBX|5|NM|2601-3^Magnesium^LN||0.80|mmol/L|||||F\r",
)


def test_dxa_obx_segments_load_as_dxa_results_and_the_rest_as_labs(tmp_path, write, warehouse_path, secret, query):
    outcome = ingest_paths(warehouse_path, [write(tmp_path / "in" / "scan.hl7", SCAN)]).files[0]
    assert outcome.status == "loaded", outcome.message
    assert (outcome.rows_loaded, outcome.rows_quarantined) == (6, 0)   # 4 DXA + 1 lab + 1 patient
    dxa = query("""SELECT CAST(scan_date AS VARCHAR), site, side, t_score, z_score, bmd_g_cm2, status
                   FROM raw.dxa_results ORDER BY source_row""")
    assert dxa == [("2024-03-10", "femoral_neck", "left", -2.6, None, None, "F"),
                   ("2024-03-10", "femoral_neck", "left", None, None, 0.81, "F"),
                   ("2024-03-10", "lumbar_spine_l1_l4", None, None, None, 0.95, "F"),
                   ("2024-03-10", "lumbar_spine_l1_l4", None, None, -1.1, None, "F")]
    # one identity per measure: a scan's T-score is never a version of its BMD
    assert query("SELECT count(DISTINCT result_id) FROM raw.dxa_results") == [(4,)]
    assert query("SELECT code, value_num FROM raw.lab_results") == [("2601-3", 0.80)]


def test_a_message_of_dxa_results_only_has_no_lab_batch(tmp_path, write, warehouse_path, secret, query):
    only = message("20240310090000", "M2", "OBR|1||S2|38269-7^DXA panel^LN|||20240310090000\r",
                   "OBX|1|NM|38267-1^Lumbar spine T-score^LN||-1.4|{T-score}|||||F\r")
    outcome = ingest_paths(warehouse_path, [write(tmp_path / "in" / "scan.hl7", only)]).files[0]
    assert outcome.status == "loaded", outcome.message
    assert query("SELECT site, t_score FROM raw.dxa_results") == [("lumbar_spine_l1_l4", -1.4)]
    assert query("SELECT count(*) FROM raw.lab_results") == [(0,)]
