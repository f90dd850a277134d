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


def test_two_identifiers_declared_one_patient_later_rekey_and_split_again(tmp_path, write, warehouse_path, secret):
    """Two hospitals' records found later to be one woman (HOSPB's 1001 is HOSPA's 1002): the
    settings say so, the next ingest re-keys her HOSPB record to her HOSPA key; taking the line
    out splits them again."""
    a, b = write(tmp_path / "in" / "a.csv", HOSPA), write(tmp_path / "in" / "b.csv", HOSPB)
    ingest_paths(warehouse_path, [a, b], identity_path=write(tmp_path / "two.yaml", TWO))
    before = _keys(warehouse_path)

    linked = write(tmp_path / "linked.yaml", TWO + 'same_patient:\n  "HOSPA|1002": ["HOSPB|1001"]\n')
    ingest_paths(warehouse_path, [a, b], identity_path=linked)
    merged = _keys(warehouse_path)
    assert merged["HOSPB|1001"] == merged["HOSPA|1002"] == before["HOSPA|1002"]
    assert {k: v for k, v in merged.items() if k != "HOSPB|1001"} == {k: v for k, v in before.items()
                                                                     if k != "HOSPB|1001"}
    assert _full_resolution_changes(warehouse_path, secret) == 0

    # a later file of HOSPB's 1001 resolves through the declared link too
    later = write(tmp_path / "in" / "b2.csv", HOSPB.replace("2001,HOSPB,M", "2002,HOSPB,M"))
    assert ingest_paths(warehouse_path, [later]).files[0].status == "loaded"
    assert _keys(warehouse_path)["HOSPB|1001"] == before["HOSPA|1002"]

    ingest_paths(warehouse_path, [a, b], identity_path=write(tmp_path / "two-again.yaml", TWO))
    assert {k: v for k, v in _keys(warehouse_path).items() if k in before} == before
