"""The five silent wrong results of issue 13, each in every format that can carry it.

Table-driven where the inputs differ only in spelling: (input, expected identifier / value /
version). Real loader, real DuckDB warehouse; marts through a real `dbt build` where the defect
shows only there.
"""
from __future__ import annotations

import json

import pytest

from etl.ingest.loader import ingest_paths

MSH = "MSH|^~\\&|LAB|HOSP|REG|OST|{ts}||ORU^R01|{id}|P|2.5.1\r"


def hl7(pid3: str, obx: str, ts: str = "20240305080000", msg_id: str = "M1", acc: str = "A1") -> str:
    return (MSH.format(ts=ts, id=msg_id) + f"PID|1||{pid3}||DOE^J||19500101|F\r"
            + f"OBR|1||{acc}|41171-0^CTX^LN|||{ts}\r" + obx)


def fhir_observation(value: dict, rid: str = "o1", subject: str = "Patient/p1", **more) -> dict:
    return {"resourceType": "Observation", "id": rid, "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "41171-0"}]},
            "subject": {"reference": subject}, "effectiveDateTime": "2024-03-05", **value, **more}


# 4. 1,000x values ---------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "text", "reason", "value_si"), [
    ("labs.csv", "patient_id,collected_at,code,value,unit\nP1,2024-03-05,41171-0,\"1,250\",pg/mL\n",
     "ambiguous_number", None),
    ("labs.csv", "patient_id,collected_at,code,value,unit\nP1,2024-03-05,41171-0,\"0,45\",ng/mL\n", None, 0.45),
    ("labs.csv", "patient_id,collected_at,code,value,unit\nP1,2024-03-05,41171-0,1250,pg/mL\n", None, 1250.0),
    ("m.hl7", hl7("P1^^^H^MR", "OBX|1|NM|41171-0^CTX^LN||1,250|pg/mL|||||F\r"), "invalid_number", None),
    ("m.hl7", hl7("P1^^^H^MR", "OBX|1|SN|41171-0^CTX^LN||=^1250|pg/mL|||||F\r"), None, 1250.0),
    ("o.json", json.dumps(fhir_observation({"valueString": "1,250"})), "invalid_number", None),
    ("o.json", json.dumps(fhir_observation({"valueQuantity": {"value": 1250, "unit": "pg/mL"}})), None, 1250.0),
])
def test_a_comma_followed_by_three_digits_is_never_a_decimal_comma(tmp_path, write, warehouse_path, secret, query,
                                                                   name, text, reason, value_si):
    path = write(tmp_path / "in" / name, text)
    outcome = ingest_paths(warehouse_path, [path]).files[0]
    assert outcome.status == "loaded", outcome.message
    quarantined = query("SELECT reason FROM audit.quarantine WHERE kind = 'labs'")
    loaded = query("SELECT value_num FROM raw.lab_results")
    if reason:
        assert quarantined == [(reason,)] and loaded == []
    else:
        assert quarantined == [] and loaded == [(value_si,)]


def test_a_profile_naming_its_separators_reads_thousands(tmp_path, write, warehouse_path, secret, query):
    profile = write(tmp_path / "de.yaml", """name: de
numbers: {decimal: ",", thousands: "."}
kinds:
  labs:
    columns: {patient_id: pid, collected_at: date, code: code, value: value, unit: unit}
""")
    path = write(tmp_path / "in" / "labs.csv", "pid,date,code,value,unit\nP1,2024-03-05,41171-0,\"1.250\",pg/mL\n"
                 "P1,2024-03-06,41171-0,\"0,45\",ng/mL\n")
    outcome = ingest_paths(warehouse_path, [path], profile_path=profile).files[0]
    assert outcome.status == "loaded", outcome.message
    assert query("SELECT value_num FROM raw.lab_results ORDER BY collected_at") == [(1250.0,), (0.45,)]
