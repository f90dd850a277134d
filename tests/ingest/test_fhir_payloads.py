"""A quarantined FHIR resource keeps the resource as its payload (osteoreg issue 13): the JSON
of that resource as sent (a component's panel, a Bundle entry's resource), not a flattened row."""
from __future__ import annotations

import json

import pytest

from etl.ingest.loader import ingest_paths

BAD_DATE = {"resourceType": "Observation", "id": "o-bad", "status": "final", "subject": {"reference": "Patient/p1"},
            "effectiveDateTime": "2024-13-40", "code": {"coding": [{"system": "http://loinc.org", "code": "2601-3"}]},
            "valueQuantity": {"value": 0.7, "unit": "mmol/L"}, "note": [{"text": "kept as sent"}]}
GOOD = {**BAD_DATE, "id": "o-good", "effectiveDateTime": "2024-03-05"}
PANEL = {"resourceType": "Observation", "id": "dxa1", "status": "final", "subject": {"reference": "Patient/p1"},
         "code": {"coding": [{"system": "http://loinc.org", "code": "38269-7"}]}, "effectiveDateTime": "2024-03-10",
         "component": [{"code": {"coding": [{"system": "http://loinc.org", "code": "38267-1"}]},
                        "valueQuantity": {"value": -2.1, "unit": "{T-score}"}},
                       {"code": {"coding": [{"system": "http://loinc.org", "code": "24966-4"}]},
                        "valueQuantity": {"value": 0.81, "unit": "g/cm3"}}]}
PATIENT = {"resourceType": "Patient", "id": "p1", "gender": "female", "birthDate": "1950-02-30"}


@pytest.mark.parametrize(("name", "text", "expected"), [
    ("o.ndjson", "\n".join(json.dumps(r) for r in (GOOD, BAD_DATE)) + "\n", [("labs", 2, BAD_DATE)]),
    ("b.json", json.dumps({"resourceType": "Bundle", "type": "collection",
                           "entry": [{"resource": GOOD}, {"resource": BAD_DATE}, {"resource": PATIENT}]}),
     [("labs", 2, BAD_DATE), ("patients", 3, PATIENT)]),
    ("o.json", json.dumps(BAD_DATE), [("labs", 1, BAD_DATE)]),
    ("dxa.ndjson", json.dumps(PANEL) + "\n", [("dxa", 1, PANEL)]),      # the BMD component's unit
])
def test_a_quarantined_resource_keeps_the_resource(tmp_path, write, warehouse_path, secret, query,
                                                   name, text, expected):
    outcome = ingest_paths(warehouse_path, [write(tmp_path / "in" / name, text)]).files[0]
    assert outcome.status == "loaded", outcome.message
    rows = query("SELECT kind, source_row, payload FROM audit.quarantine ORDER BY source_row")
    assert [(kind, row, json.loads(payload)) for kind, row, payload in rows] == [
        (kind, row, {"resource": resource}) for kind, row, resource in expected]
