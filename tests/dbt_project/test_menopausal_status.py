"""Dated menopausal status (issue 12 point 2, contract 2 and 6) through a real ingest of the
optional flat columns (patients.menopausal_status_date, dxa.menopausal_status), migration 0004's
raw columns and a real dbt build."""
from __future__ import annotations

import duckdb
import pytest

from etl.build import build
from etl.ingest.loader import ingest_paths

pytestmark = pytest.mark.slow

# P1 is scanned at 44 and again at 53; she was recorded postmenopausal in 2022 only.
PATIENTS = """patient_id,sex,birth_date,menopausal_status,menopausal_status_date
P1,F,1970-03-01,post,2022-05-01
P2,F,1978-01-01,pre,
P3,F,1980-01-01,post,soon
"""
DXA = """patient_id,scan_date,site,t_score,z_score,menopausal_status
P1,2014-06-01,total_hip,-2.6,-2.1,
P1,2023-06-01,total_hip,-2.7,-2.2,
P2,2024-06-01,total_hip,-2.6,-1.5,post
P2,2024-07-01,femoral_neck,-1.0,0.1,menopause
"""


def test_status_of_the_scan_date_decides_who_or_iscd(tmp_path, write, secret, warehouse_path):
    write(tmp_path / "in" / "patients.csv", PATIENTS)
    write(tmp_path / "in" / "dxa.csv", DXA)

    report = ingest_paths(warehouse_path, [tmp_path / "in"])
    build(warehouse_path, exclude="resource_type:unit_test")

    assert {f.path.name: (f.rows_loaded, f.rows_quarantined) for f in report.files} == {
        "patients.csv": (2, 1), "dxa.csv": (3, 1)}
    with duckdb.connect(str(warehouse_path), read_only=True) as conn:
        reasons = conn.execute("""SELECT json_extract_string(payload, '$.patient_id'), reason, field
                                  FROM audit.quarantine ORDER BY 1""").fetchall()
        raw = conn.execute("""SELECT patient_id, menopausal_status, menopausal_status_date FROM raw.patients
                              ORDER BY 1""").fetchall()
        marts = conn.execute("""SELECT m.patient_id, a.scan_date, a.age_at_scan, a.menopausal_status,
                                       a.menopausal_status_basis, a.who_category, a.iscd_category
                                FROM marts.fct_bmd_assessment AS a
                                JOIN identity.patient_map AS m ON m.patient_key = a.patient_key
                                ORDER BY 1, 2""").fetchall()
    assert reasons == [("P2", "invalid_category", "menopausal_status"),
                       ("P3", "invalid_date", "menopausal_status_date")]
    assert [(p, s, str(d) if d else None) for p, s, d in raw] == [("P1", "post", "2022-05-01"), ("P2", "pre", None)]
    assert [(p, str(day), *rest) for p, day, *rest in marts] == [
        # at 44, before any dated status: age alone, so the Z-score decides (ISCD 2019)
        ("P1", "2014-06-01", 44, None, None, "osteoporosis", "below_expected_range_for_age"),
        # at 53, postmenopausal since 2022
        ("P1", "2023-06-01", 53, "post", "dated", "osteoporosis", "osteoporosis"),
        # the status recorded at the scan wins over the patient's undated "pre"
        ("P2", "2024-06-01", 46, "post", "scan", "osteoporosis", "osteoporosis"),
    ]
