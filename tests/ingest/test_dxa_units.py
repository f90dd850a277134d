"""DXA units (osteoreg issue 13): BMD in mg/cm2 is converted to g/cm2, and a DXA measure in any
unit seed `dxa_units` does not list for it (BMD other than g/cm2 / mg/cm2; a T- or Z-score other
than `{T-score}`, `{Z-score}`, `1` or empty) is quarantined as `unknown_unit`, in every format that
carries DXA (flat exports may name the unit columns; FHIR valueQuantity; HL7 OBX-6)."""
from __future__ import annotations

import json

import pytest

from etl.ingest.loader import ingest_paths

SPINE_BMD, SPINE_T = "24966-4", "38267-1"
NECK_Z = "80934-3"


def fhir_dxa(code: str, value: float, unit: str | None) -> str:
    quantity = {"value": value, **({"unit": unit} if unit is not None else {})}
    return json.dumps({"resourceType": "Observation", "id": "d1", "status": "final",
                       "subject": {"reference": "Patient/p1"}, "effectiveDateTime": "2024-03-10",
                       "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
                       "valueQuantity": quantity})


def hl7_dxa(code: str, value: str, unit: str) -> str:
    return ("MSH|^~\\&|DXA|HOSP|REG|OST|20240310090000||ORU^R01|M1|P|2.5.1\r"
            "PID|1||P1^^^HOSPA^MR||DOE^J||19500101|F\r"
            "OBR|1||S1|38269-7^DXA panel^LN|||20240310090000\r"
            f"OBX|1|NM|{code}^DXA^LN||{value}|{unit}|||||F\r")


FLAT = "patient_id,scan_date,site,t_score,bmd_g_cm2,bmd_unit,t_score_unit\nP1,2024-03-10,femoral_neck,{t},{bmd},{bu},{tu}\n"


@pytest.mark.parametrize(("name", "text", "column", "stored", "reason", "field"), [
    ("d.json", fhir_dxa(SPINE_BMD, 810, "mg/cm2"), "bmd_g_cm2", 0.81, None, None),
    ("d.json", fhir_dxa(SPINE_BMD, 810, "mg/cm²"), "bmd_g_cm2", 0.81, None, None),
    ("d.json", fhir_dxa(SPINE_BMD, 0.81, "g/cm2"), "bmd_g_cm2", 0.81, None, None),
    ("d.json", fhir_dxa(SPINE_BMD, 0.81, None), "bmd_g_cm2", 0.81, None, None),
    ("d.json", fhir_dxa(SPINE_BMD, 0.81, "g/cm3"), "bmd_g_cm2", None, "unknown_unit", "bmd_unit"),
    ("d.json", fhir_dxa(SPINE_BMD, 810, "mg"), "bmd_g_cm2", None, "unknown_unit", "bmd_unit"),
    ("d.json", fhir_dxa(SPINE_T, -2.6, "{T-score}"), "t_score", -2.6, None, None),
    ("d.json", fhir_dxa(SPINE_T, -2.6, "1"), "t_score", -2.6, None, None),
    ("d.json", fhir_dxa(SPINE_T, -2.6, "%"), "t_score", None, "unknown_unit", "t_score_unit"),
    ("d.json", fhir_dxa(NECK_Z, -2.1, "{Z-score}"), "z_score", -2.1, None, None),
    ("d.json", fhir_dxa(NECK_Z, -2.1, "g/cm2"), "z_score", None, "unknown_unit", "z_score_unit"),
    ("dxa.csv", FLAT.format(t="-2.6", bmd="810", bu="mg/cm2", tu=""), "bmd_g_cm2", 0.81, None, None),
    ("dxa.csv", FLAT.format(t="-2.6", bmd="0.81", bu="kg/m2", tu=""), "bmd_g_cm2", None, "unknown_unit", "bmd_unit"),
    ("dxa.csv", FLAT.format(t="-2.6", bmd="0.81", bu="", tu="SD"), "t_score", -2.6, None, None),
    ("dxa.csv", FLAT.format(t="-2.6", bmd="0.81", bu="", tu="mmol/L"), "t_score", None, "unknown_unit", "t_score_unit"),
    ("d.hl7", hl7_dxa(SPINE_BMD, "810", "mg/cm2"), "bmd_g_cm2", 0.81, None, None),
    ("d.hl7", hl7_dxa(SPINE_BMD, "0.81", "g/cm2"), "bmd_g_cm2", 0.81, None, None),
    ("d.hl7", hl7_dxa(SPINE_BMD, "0.81", "mg/dL"), "bmd_g_cm2", None, "unknown_unit", "bmd_unit"),
    ("d.hl7", hl7_dxa(SPINE_T, "-2.6", "{T-score}"), "t_score", -2.6, None, None),
    ("d.hl7", hl7_dxa(SPINE_T, "-2.6", "cm"), "t_score", None, "unknown_unit", "t_score_unit"),
])
def test_a_dxa_unit_is_converted_or_quarantined(tmp_path, write, warehouse_path, secret, query,
                                                name, text, column, stored, reason, field):
    outcome = ingest_paths(warehouse_path, [write(tmp_path / "in" / name, text)]).files[0]
    assert outcome.status == "loaded", outcome.message
    quarantined = query("SELECT reason, field FROM audit.quarantine WHERE kind = 'dxa'")
    loaded = query(f"SELECT {column} FROM raw.dxa_results")
    if reason:
        assert (quarantined, loaded) == ([(reason, field)], [])
    else:
        assert (quarantined, loaded) == ([], [(stored,)])
