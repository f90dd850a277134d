"""Identity re-keying (osteoreg issue 13, contract 2a): a load resolves only its own references
and those its identifiers link, and gives the same keys a full re-resolution gives; identity
settings that later declare two namespaces one patient population (a merge), or two again (a
split), re-key through `identity.patient_map` at the next ingest even when no file is new, so
the marts follow at the next build and are never edited by hand."""
from __future__ import annotations

import json

import duckdb

from etl import identity
from etl.ingest.loader import ingest_paths

HOSPA = "patient_id,patient_id_namespace,sex,birth_date\n1001,HOSPA,F,1950-01-01\n1002,HOSPA,F,1951-01-01\n"
HOSPB = "patient_id,patient_id_namespace,sex,birth_date\n1001,HOSPB,F,1950-01-01\n2001,HOSPB,M,1960-01-01\n"
TWO = "namespaces:\n  default: [HOSPA]\n  hospital_b: [HOSPB]\n"
ONE = "namespaces:\n  default: [HOSPA, HOSPB]\n"


def _keys(path) -> dict[str, str]:
    with duckdb.connect(str(path), read_only=True) as conn:
        return dict(conn.execute("SELECT patient_id, patient_key FROM identity.patient_map").fetchall())


def _full_resolution_changes(path, secret: str) -> int:
    """How many references a full re-resolution would re-key (0 when the loads left them right)."""
    with duckdb.connect(str(path)) as conn:
        conn.execute("BEGIN TRANSACTION")
        changed = identity.rekey_all(conn, secret.encode())
        conn.execute("ROLLBACK")
    return changed


def test_a_later_merge_and_split_of_namespaces_rekey_through_the_map(tmp_path, write, warehouse_path, secret):
    a, b = write(tmp_path / "in" / "a.csv", HOSPA), write(tmp_path / "in" / "b.csv", HOSPB)
    ingest_paths(warehouse_path, [a, b], identity_path=write(tmp_path / "two.yaml", TWO))
    two = _keys(warehouse_path)
    assert len(set(two.values())) == 4

    # The registry learns HOSPB is the same hospital: the same files again (skipped: nothing new)
    merged = ingest_paths(warehouse_path, [a, b], identity_path=write(tmp_path / "one.yaml", ONE))
    assert [f.status for f in merged.files] == ["skipped", "skipped"]
    one = _keys(warehouse_path)
    assert one["HOSPB|1001"] == one["HOSPA|1001"] == two["HOSPA|1001"]   # the first key is kept
    assert one["HOSPB|2001"] != one["HOSPA|1002"] and len(set(one.values())) == 3

    # ... and then that it was not: the split gives back the keys they had
    ingest_paths(warehouse_path, [a, b], identity_path=write(tmp_path / "two-again.yaml", TWO))
    assert _keys(warehouse_path) == two


def test_each_load_resolves_as_a_full_resolution_would(tmp_path, write, warehouse_path, secret):
    """Observations that name `Patient/srv-1` arrive before the Patient resource that gives its
    record number; a flat file then sends the same record number. After every load the keys are
    those a re-resolution of every reference gives."""
    observation = {"resourceType": "Observation", "id": "o1", "status": "final",
                   "subject": {"reference": "Patient/srv-1"}, "effectiveDateTime": "2024-03-05",
                   "code": {"coding": [{"system": "http://loinc.org", "code": "2601-3"}]},
                   "valueQuantity": {"value": 0.7, "unit": "mmol/L"}}
    patient = {"resourceType": "Patient", "id": "srv-1", "gender": "female", "birthDate": "1950-01-01",
               "identifier": [{"system": "HOSPA", "value": "1001", "type": {"coding": [{"code": "MR"}]}}]}
    files = [write(tmp_path / "in" / "Observation.ndjson", json.dumps(observation) + "\n"),
             write(tmp_path / "in" / "Patient.ndjson", json.dumps(patient) + "\n"),
             write(tmp_path / "in" / "a.csv", HOSPA)]
    for path in files:
        outcome = ingest_paths(warehouse_path, [path]).files[0]
        assert outcome.status == "loaded", outcome.message
        assert _full_resolution_changes(warehouse_path, secret) == 0
    keys = _keys(warehouse_path)
    # the Observation's subject, the Patient and the flat record are one person, one key
    assert keys["Patient/srv-1"] == keys["HOSPA|1001"]
    assert len(set(keys.values())) == 2
