"""Audit of issue 13's interface details that had no test of their own (built last session):
SN `=^0.80`, HL7 `LNC`, an `issued`-only Observation, and untracked valueCodeableConcept /
valueBoolean results counted as untracked, not quarantined. Real loader and DuckDB warehouse."""
from __future__ import annotations

import json

import pytest

from etl.ingest.loader import ingest_paths

MSH = "MSH|^~\\&|LAB|HOSP|REG|OST|20240305080000||ORU^R01|M1|P|2.5.1\r"
PID = "PID|1||P1^^^HOSPA^MR||DOE^J||19500101|F\r"
OBR = "OBR|1||A1|2601-3^MG^LN|||20240305080000\r"


def observation(**value) -> str:
    return json.dumps({"resourceType": "Observation", "id": "o1", "status": "final",
                       "subject": {"reference": "Patient/p1"},
                       "code": {"coding": [{"system": "http://loinc.org", "code": value.pop("code", "2601-3")}]},
                       **value})


@pytest.mark.parametrize(("name", "text", "expected"), [
    ("sn.hl7", MSH + PID + OBR + "OBX|1|SN|2601-3^Magnesium^LN||=^0.80|mmol/L|||||F\r",
     [("2601-3", "LOINC", 0.80, None, "2024-03-05 08:00:00")]),
    ("lnc.hl7", MSH + PID + OBR + "OBX|1|NM|2601-3^Magnesium^LNC||0.71|mmol/L|||||F\r",
     [("2601-3", "LOINC", 0.71, None, "2024-03-05 08:00:00")]),
    ("issued.json", observation(issued="2024-03-07T09:15:00Z", valueQuantity={"value": 0.66, "unit": "mmol/L"}),
     [("2601-3", "LOINC", 0.66, None, "2024-03-07 09:15:00")]),
])
def test_values_codes_and_times_as_the_interface_sends_them(tmp_path, write, warehouse_path, secret, query,
                                                             name, text, expected):
    outcome = ingest_paths(warehouse_path, [write(tmp_path / "in" / name, text)]).files[0]
    assert outcome.status == "loaded", outcome.message
    assert query("SELECT reason FROM audit.quarantine") == []
    assert query("""SELECT code, code_system, value_num, value_comparator, CAST(collected_at AS VARCHAR)
                    FROM raw.lab_results""") == expected


@pytest.mark.parametrize("value", [
    {"valueCodeableConcept": {"coding": [{"system": "http://snomed.info/sct", "code": "260385009"}]}},
    {"valueBoolean": True},
])
def test_a_coded_or_boolean_result_of_an_untracked_code_is_untracked_not_missing(
        tmp_path, write, warehouse_path, secret, query, value):
    text = observation(code="72166-2", effectiveDateTime="2024-03-05", **value)  # smoking status
    outcome = ingest_paths(warehouse_path, [write(tmp_path / "in" / "o.json", text)]).files[0]
    assert outcome.status == "loaded", outcome.message
    assert (outcome.rows_loaded, outcome.rows_quarantined, outcome.rows_untracked) == (1, 0, 1)
