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


# 1. Wrong identifier ------------------------------------------------------------------------

MG = "OBX|1|NM|2601-3^Magnesium^LN||0.80|mmol/L|||||F\r"


def fhir_patient(identifiers: list[dict], rid: str | None = "abc") -> dict:
    resource = {"resourceType": "Patient", "gender": "female", "birthDate": "1950-01-01", "identifier": identifiers}
    if rid:
        resource["id"] = rid
    return resource


def typed(code: str, value: str, system: str = "urn:hospa:mrn", **more) -> dict:
    return {"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": code}]},
            "system": system, "value": value, **more}


SSN = typed("SS", "123-45-6789", "http://hl7.org/fhir/sid/us-ssn")


@pytest.mark.parametrize(("name", "text", "expected"), [
    ("ssn_first.hl7", hl7("123-45-6789^^^SSA^SS~1001^^^HOSPA^MR", MG), "HOSPA|1001"),
    ("mrn_first.hl7", hl7("1001^^^HOSPA^MR~123-45-6789^^^SSA^SS", MG), "HOSPA|1001"),
    ("insurance.hl7", hl7("W123^^^AETNA^HC~1001^^^HOSPA^PI~A77^^^HOSPA^AN", MG), "HOSPA|1001"),
    ("authority_hd.hl7", hl7("1001^^^HOSPA&1.2.3&ISO^MR", MG), "HOSPA|1001"),
    ("untyped.hl7", hl7("1001", MG), "1001"),
    ("only_ssn.hl7", hl7("123-45-6789^^^SSA^SS", MG), None),
    ("ssn_then_mr.json", json.dumps(fhir_patient([SSN, typed("MR", "1001")])), "urn:hospa:mrn|1001"),
    ("official.json", json.dumps(fhir_patient([SSN, {"use": "official", "system": "urn:hospa:mrn", "value": "1001"}])),
     "urn:hospa:mrn|1001"),
    ("no_id_ssn.json", json.dumps(fhir_patient([SSN], rid=None)), None),
    ("no_record_id.json", json.dumps(fhir_patient([SSN])), "Patient/abc"),
])
def test_the_record_identifier_is_chosen_by_type(tmp_path, write, warehouse_path, secret, query, name, text, expected):
    outcome = ingest_paths(warehouse_path, [write(tmp_path / "in" / name, text)]).files[0]
    assert outcome.status == "loaded", outcome.message
    loaded = query("SELECT DISTINCT patient_id FROM raw.patients UNION SELECT patient_id FROM raw.lab_results")
    assert loaded == ([(expected,)] if expected else [])
    if expected is None:   # never keyed by a social-security number: quarantined, nothing lost
        assert {r[0] for r in query("SELECT reason FROM audit.quarantine")} == {"missing_patient_id"}
    # the SSN stays in identity only as sent, with the patient it belongs to
    ssn = query("SELECT patient_id FROM identity.patient_identifiers WHERE id_value = '123-45-6789'")
    assert ssn == ([(expected,)] if expected and "123-45-6789" in text else [])


def test_the_same_person_with_reordered_identifiers_has_one_key(tmp_path, write, warehouse_path, secret, query):
    ingest_paths(warehouse_path, [
        write(tmp_path / "a.hl7", hl7("123-45-6789^^^SSA^SS~1001^^^HOSPA^MR", MG)),
        write(tmp_path / "b.hl7", hl7("1001^^^HOSPA^MR~123-45-6789^^^SSA^SS", MG.replace("0.80", "0.81"), msg_id="M2",
                                      acc="A2"))])
    assert query("SELECT count(DISTINCT patient_key) FROM identity.patient_map") == [(1,)]


# 2. Different patients merged ---------------------------------------------------------------

TWO_HOSPITALS = "namespaces:\n  default: [HOSPA, 'urn:hospa:mrn']\n  hospital_b: [HOSPB, 'urn:hospb:mrn']\n"


@pytest.mark.parametrize("shape", ["hl7", "fhir", "flat"])
def test_two_hospitals_record_numbers_stay_two_patients(tmp_path, write, warehouse_path, secret, query, shape):
    if shape == "hl7":
        text = (hl7("1001^^^HOSPA^MR", MG) + hl7("1001^^^HOSPB^MR", MG.replace("0.80", "0.60"), msg_id="M2", acc="B1")
                .replace("|19500101|F", "|19900101|M"))
        path = write(tmp_path / "in" / "feed.hl7", text)
    elif shape == "fhir":
        lines = [fhir_patient([typed("MR", "1001")], rid="a"),
                 {**fhir_patient([typed("MR", "1001", "urn:hospb:mrn")], rid="b"), "gender": "male"}]
        path = write(tmp_path / "in" / "Patient.ndjson", "\n".join(json.dumps(r) for r in lines) + "\n")
    else:
        path = write(tmp_path / "in" / "patients.csv", "patient_id,patient_id_namespace,sex,birth_date\n"
                     "1001,HOSPA,F,1950-01-01\n1001,HOSPB,M,1990-01-01\n")
    refused = ingest_paths(warehouse_path, [path]).files[0]
    assert refused.status == "failed"    # nothing merged by guess, nothing loaded
    assert "HOSPA" in refused.message.replace("urn:hospa:mrn", "HOSPA") and "--identity" in refused.message
    assert query("SELECT count(*) FROM raw.patients") == [(0,)]
    settings = write(tmp_path / "identity.yaml", TWO_HOSPITALS)
    loaded = ingest_paths(warehouse_path, [path], identity_path=settings).files[0]
    assert loaded.status == "loaded", loaded.message
    keys = query("""SELECT r.person_id, count(DISTINCT m.patient_key) FROM identity.patient_map m
                    JOIN identity.patient_references r USING (patient_id) GROUP BY 1 ORDER BY 1""")
    assert keys == [("1001", 1), ("hospital_b|1001", 1)]
    assert len({k for (k,) in query("SELECT patient_key FROM identity.patient_map")}) == 2
    # the settings are kept with the warehouse: a later ingest places the namespaces the same way
    assert (warehouse_path.parent / (warehouse_path.name + ".identity.yaml")).read_text() == TWO_HOSPITALS


# 3. Linkage across formats and 5. versions by the source's time (one warehouse, one build) --

def _scan(rid: str, code: str, value: float, **more) -> dict:
    return {"resourceType": "Observation", "id": rid, "status": "final", "subject": {"reference": "Patient/srv-77"},
            "code": {"coding": [{"system": "urn:oid:2.16.840.1.113883.6.1", "code": code}]},   # LOINC by OID
            "effectiveDateTime": "2024-03-10", "valueQuantity": {"value": value, "unit": "1"}, **more}


def _mg(rid: str, value: float, updated: str, subject: str = "Patient/srv-88") -> dict:
    return {"resourceType": "Observation", "id": rid, "status": "final", "subject": {"reference": subject},
            "meta": {"lastUpdated": updated},
            "code": {"coding": [{"system": "http://loinc.org/", "code": "2601-3"}]},
            "effectiveDateTime": "2024-04-01", "valueQuantity": {"value": value, "unit": "mmol/L"}}


@pytest.fixture(scope="module")
def linked(tmp_path_factory):
    """One woman sent as a flat export (record 1001), as HL7 (1001^^^HOSPA^MR) and as FHIR (a
    Patient with MR 1001 in urn:hospa:mrn, server id srv-77), scans before her Patient resource;
    and the versions of contract 5 delivered in the wrong order."""
    from .conftest import build_in_subprocess

    root = tmp_path_factory.mktemp("linked")
    mp = pytest.MonkeyPatch()
    mp.setenv("OSTEOREG_SECRET", "linked-secret-of-at-least-32-characters")
    files = {
        "1_scans.ndjson": [_scan("t1", "38267-1", -2.7), _scan("b1", "24966-4", 0.81, valueQuantity={"value": 0.81, "unit": "g/cm2"})],
        "2_mg_new.ndjson": [_mg("m1", 0.70, "2024-04-03T10:00:00Z")],   # newest first
        "3_mg_old.ndjson": [_mg("m1", 0.90, "2024-04-02T10:00:00Z")],
        "5_patients.ndjson": [fhir_patient([SSN, typed("MR", "1001")], rid="srv-77"),
                              fhir_patient([typed("MR", "2002")], rid="srv-88")],
    }
    paths = []
    for name, resources in files.items():
        path = root / "in" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(json.dumps(r) for r in resources) + "\n")
        paths.append(path)
    history = {"resourceType": "Bundle", "type": "history", "entry": [      # newest first, no times
        {"resource": {**_mg("h1", 0.65, "", "Patient/srv-88"), "meta": {}, "effectiveDateTime": "2024-05-01"}},
        {"resource": {**_mg("h1", 0.95, "", "Patient/srv-88"), "meta": {}, "effectiveDateTime": "2024-05-01"}}]}
    (root / "in" / "4_history.json").write_text(json.dumps(history))
    # HL7: the correction (sent 12:00) is delivered before the final (sent 08:00)
    correction = hl7("1001^^^HOSPA^MR", MG.replace("0.80", "0.72").replace("|F\r", "|C\r"), ts="20240310120000",
                     msg_id="C1")
    final = hl7("1001^^^HOSPA^MR", MG, ts="20240310080000", msg_id="F1")
    (root / "in" / "6_correction.hl7").write_text(correction)
    (root / "in" / "7_final.hl7").write_text(final)
    (root / "in" / "8_patients.csv").write_text("patient_id,sex,birth_date\n1001,F,1950-01-01\n")
    (root / "in" / "9_labs.csv").write_text("patient_id,collected_at,code,value,unit\n1001,2024-03-09,2731-8,\"1,234\","
                                            "pg/mL\n1001,2024-03-09,1989-3,\"31,5\",ng/mL\n")
    paths = sorted((root / "in").iterdir())
    warehouse = root / "wh" / "osteoreg.duckdb"
    report = ingest_paths(warehouse, paths)
    build_in_subprocess(warehouse)
    mp.undo()
    return warehouse, report


def _rows(warehouse, sql):
    import duckdb

    with duckdb.connect(str(warehouse), read_only=True) as conn:
        return conn.execute(sql).fetchall()


def test_one_woman_in_three_formats_is_one_patient(linked):
    warehouse, report = linked
    assert [f.status for f in report.files] == ["loaded"] * 9, [(f.path.name, f.message) for f in report.files]
    keys = _rows(warehouse, """SELECT count(DISTINCT m.patient_key) FROM identity.patient_map m
                               JOIN identity.patient_references r USING (patient_id) WHERE r.person_id = '1001'""")
    assert keys == [(1,)]
    assert _rows(warehouse, "SELECT count(*) FROM marts.dim_patient") == [(2,)]
    # her FHIR scan meets her HL7 magnesium (the correction, sent later) and her flat vitamin D
    flags = _rows(warehouse, """SELECT a.t_score_lumbar_spine, f.mg_mmol_l, f.vitd_nmol_l, f.pth_ng_l
                                FROM marts.fct_deficiency_flags f JOIN marts.fct_bmd_assessment a USING (assessment_id)""")
    assert flags == [(-2.7, 0.72, pytest.approx(31.5 * 2.496), None)]   # PTH 1,234 quarantined, not 1.234


def test_the_source_time_decides_the_current_version(linked):
    warehouse, _ = linked
    current = _rows(warehouse, """SELECT collected_at::DATE::VARCHAR, value_si, status FROM marts.fct_lab_result
                                  WHERE analyte = 'magnesium' ORDER BY 1""")
    assert current == [("2024-03-10", 0.72, "C"),   # HL7 C sent after F, delivered before it
                       ("2024-04-01", 0.70, "F"),   # meta.lastUpdated, newest file loaded first
                       ("2024-05-01", 0.65, "F")]   # history Bundle: the first entry is the newest
    assert _rows(warehouse, "SELECT reason FROM audit.quarantine") == [("ambiguous_number",)]
