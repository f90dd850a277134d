"""Vital signs sent as results are the patient's measurements at the scan (contract section 4).

A FHIR-only registry (US Core vital-signs Observations beside DXA Observations on other days)
and an HL7 feed (OBX body weight in pounds) next to a flat DXA export without height or weight:
`fct_bmd_assessment` gets weight, height and BMI from the nearest measurement within the lab
window, so OST (weight and age) can score these assessments. The DXA export's own values win.
"""
from __future__ import annotations

import json

import duckdb
import pytest

from etl.ingest.loader import ingest_paths

from .conftest import build_in_subprocess


def _obs(rid: str, subject: str, code: str, value: float, unit: str, day: str) -> dict:
    return {"resourceType": "Observation", "id": rid, "status": "final", "subject": {"reference": subject},
            "category": [{"coding": [{"code": "vital-signs"}]}],
            "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
            "effectiveDateTime": day, "valueQuantity": {"value": value, "unit": unit, "code": unit}}


def test_vital_signs_reach_the_assessment_where_the_scan_has_none(tmp_path, secret):
    fhir = [
        {"resourceType": "Patient", "id": "p1", "gender": "female", "birthDate": "1950-01-01"},
        _obs("t1", "Patient/p1", "38267-1", -2.1, "1", "2024-03-10"),
        _obs("w1", "Patient/p1", "29463-7", 61.0, "kg", "2024-02-20"),       # 19 days before the scan
        _obs("w0", "Patient/p1", "29463-7", 70.0, "kg", "2023-01-01"),       # outside the window
        _obs("h1", "Patient/p1", "8302-2", 64.0, "[in_i]", "2024-03-01"),    # 162.56 cm
    ]
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "export.ndjson").write_text("\n".join(json.dumps(r) for r in fhir) + "\n")
    (tmp_path / "in" / "weights.hl7").write_text(
        "MSH|^~\\&|LAB|HOSP|REG|OST|20240305080000||ORU^R01|M1|P|2.5.1\r"
        "PID|1||H7^^^HOSP^MR||DOE^J||19480101|F\r"
        "OBR|1||A1|29463-7^Weight^LN|||20240305080000\r"
        "OBX|1|NM|29463-7^Body weight^LN||143.3|[lb_av]|||||F\r")
    (tmp_path / "in" / "dxa.csv").write_text("patient_id,scan_date,site,t_score,weight_kg,height_cm\n"
                                             "H7,2024-03-20,total_hip,-2.6,,\nD9,2024-03-20,total_hip,-1.0,80,170\n")
    (tmp_path / "in" / "weights_d9.hl7").write_text(
        "MSH|^~\\&|LAB|HOSP|REG|OST|20240305080000||ORU^R01|M2|P|2.5.1\r"
        "PID|1||D9^^^HOSP^MR||ROE^J||19500101|F\r"
        "OBR|1||A2|29463-7^Weight^LN|||20240319080000\r"
        "OBX|1|NM|29463-7^Body weight^LN||90|kg|||||F\r")
    warehouse = tmp_path / "wh" / "osteoreg.duckdb"
    report = ingest_paths(warehouse, [tmp_path / "in"])
    assert {f.status for f in report.files} == {"loaded"}, [(f.path.name, f.message) for f in report.files]
    build_in_subprocess(warehouse)
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        rows = conn.execute("""SELECT r.person_id, a.weight_kg, a.height_cm, a.bmi
                               FROM marts.fct_bmd_assessment a
                               JOIN identity.patient_map m USING (patient_key)
                               JOIN identity.patient_references r USING (patient_id)
                               GROUP BY ALL ORDER BY 1""").fetchall()
    assert rows == [
        ("D9", 80.0, 170.0, 27.68),                              # the DXA export's own values win
        ("H7", pytest.approx(143.3 * 0.45359237), None, None),    # pounds from HL7; no height
        ("p1", 61.0, 64 * 2.54, round(61.0 / (1.6256 ** 2), 2)),  # FHIR only
    ]
