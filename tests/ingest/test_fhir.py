"""FHIR R4 reader: US Core examples, Bundles and their references, Bulk NDJSON and rejects."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from etl.ingest import fhir

LOINC = "http://loinc.org"


def observation(obs_id: str, subject: str | None, code: str = "19123-9", value=1.9, unit="mg/dL",
                status: str = "final", when: str = "2024-03-05T08:30:00+01:00", **extra) -> dict:
    resource = {"resourceType": "Observation", "id": obs_id, "status": status,
                "code": {"coding": [{"system": LOINC, "code": code}]},
                "effectiveDateTime": when}
    if subject is not None:
        resource["subject"] = {"reference": subject}
    if value is not None:
        resource["valueQuantity"] = {"value": value, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit}
    resource.update(extra)
    return resource


def patient(patient_id: str | None, gender="female", birth="1950-04-01", **extra) -> dict:
    resource = {"resourceType": "Patient", "gender": gender, "birthDate": birth, **extra}
    if patient_id is not None:
        resource["id"] = patient_id
    return resource


def ndjson(tmp_path: Path, lines: list, name: str = "Observation.ndjson") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n")
    return path


def test_us_core_dxa_observations_map_to_site_side_and_measure(external, conn, rows):
    expected = {
        "dxa-femur-l-armass-bmd.json": ("femoral_neck", "left", "bmd_g_cm2", "0.631"),
        "dxa-femur-l-t-score-bmd.json": ("femoral_neck", "left", "t_score", "-1.48"),
        "dxa-femur-l-z-score-bmd.json": ("femoral_neck", "left", "z_score", "0.05"),
        "dxa-hip-l-armass-bmd.json": ("total_hip", "left", "bmd_g_cm2", "0.734"),
        "dxa-hip-l-t-score-bmd.json": ("total_hip", "left", "t_score", "-1.62"),
        "dxa-hip-l-z-score-bmd.json": ("total_hip", "left", "z_score", "-0.19"),
    }
    for name, (site, side, measure, value) in expected.items():
        result = fhir.read(external / "us-core" / name, conn)
        assert result.format == "fhir_json"
        [row] = rows(result, "dxa")
        assert (row["site"], row["side"], row[measure], row["status"]) == (site, side, value, "F")
        assert {m: row[m] for m in ("t_score", "z_score", "bmd_g_cm2") if m != measure} == \
            {m: None for m in ("t_score", "z_score", "bmd_g_cm2") if m != measure}
        assert row["scan_date"] == "2021-11-10T19:14:41.088720-08:00"
        assert (row["patient_id"], row["result_id"]) == ("Patient/example", name.removesuffix(".json"))


def test_us_core_labs_patient_and_report(external, conn, rows):
    [calcium] = rows(fhir.read(external / "us-core" / "observation-serum-calcium.json", conn), "labs")
    assert (calcium["code"], calcium["code_system"], calcium["value"], calcium["unit"]) == \
        ("17861-6", "LOINC", "7.7", "mg/dL")
    assert (calcium["collected_at"], calcium["abnormal_flag"], calcium["reference_range"]) == \
        ("2005-07-05", "L", "8.5-10.5")
    assert (calcium["result_id"], calcium["patient_id"], calcium["status"]) == ("serum-calcium", "Patient/example", "F")
    [creatinine] = rows(fhir.read(external / "us-core" / "observation-serum-creatinine.json", conn), "labs")
    assert (creatinine["value"], creatinine["abnormal_flag"]) == ("1", "H")
    [amy] = rows(fhir.read(external / "us-core" / "patient-example.json", conn), "patients")
    # Amy's record number (identifier of type MR) names her; her logical id links to it
    assert (amy["patient_id"], amy["patient_id_namespace"], amy["sex"], amy["birth_date"]) == \
        ("1032702", "http://example.org/patient/identifiers", "female", "1987-02-20")
    assert amy["ethnicity"] == "Hispanic or Latino"
    report = fhir.read(external / "us-core" / "DiagnosticReport-bone-density-report.json", conn)
    assert (report.batches, report.rows_skipped, report.rejects) == ([], 1, [])


def test_transaction_bundle_resolves_uuid_and_contained_patients(tmp_path, conn, rows):
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": "urn:uuid:aaaa", "resource": patient(None, identifier=[
            {"system": "ssn", "value": "999-1", "type": {"coding": [{"code": "SS"}]}},
            {"system": "mrn", "value": "MRN-1", "type": {"coding": [{"code": "MR"}]}}]),
         "request": {"method": "POST", "url": "Patient"}},
        {"fullUrl": "urn:uuid:bbbb", "resource": observation("o1", "urn:uuid:aaaa")},
        {"resource": observation("o2", "#p", contained=[patient("p", identifier=[{"value": "MRN-2"}])])},
        {"request": {"method": "DELETE", "url": "Observation/old"}},
        {"resource": {"resourceType": "Encounter", "id": "e1"}},
    ]}
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle))
    result = fhir.read(path, conn)
    # the record number of type MR, never the SSN; a contained Patient's id is its container's
    assert [(r["source_row"], r["patient_id"], r["patient_id_namespace"]) for r in rows(result, "patients")] == [
        (1, "MRN-1", "mrn"), (3, "Patient/o2.p", None)]
    assert [(r["source_row"], r["patient_id"], r["result_id"]) for r in rows(result, "labs")] == [
        (2, "Patient/aaaa", "o1"), (3, "Patient/o2.p", "o2")]
    links = conn.execute(f"SELECT namespace, id_type, id_value, reference, patient_id FROM {result.identifiers} "
                         "ORDER BY ALL").fetchall()
    assert links == [("Patient", "resource_id", "aaaa", "Patient/aaaa", "mrn|MRN-1"),
                     ("Patient", "resource_id", "o2.p", "Patient/o2.p", "Patient/o2.p"),
                     ("mrn", "MR", "MRN-1", "mrn|MRN-1", "mrn|MRN-1"),
                     ("ssn", "SS", "999-1", None, "mrn|MRN-1"),
                     (None, None, "MRN-2", None, "Patient/o2.p")]
    assert result.rows_skipped == 2 and result.rejects == []


def test_searchset_bundle_with_server_references(tmp_path, conn, rows):
    bundle = {"resourceType": "Bundle", "type": "searchset", "entry": [
        {"fullUrl": "https://ehr.example/fhir/Patient/123", "resource": patient("123", gender="male")},
        {"resource": observation("o1", "https://ehr.example/fhir/Patient/123/_history/2")},
        {"resource": observation("o2", "Patient/123")},
    ]}
    path = tmp_path / "search.json"
    path.write_text(json.dumps(bundle))
    result = fhir.read(path, conn)
    assert [r["patient_id"] for r in rows(result, "labs")] == ["Patient/123", "Patient/123"]
    assert rows(result, "patients")[0]["sex"] == "male"


@pytest.mark.parametrize("status, letter", [
    ("final", "F"), ("amended", "A"), ("corrected", "C"), ("preliminary", "P"), ("registered", "I"),
    ("entered-in-error", "D"), ("cancelled", "X"), ("unknown", "unknown"),
])
def test_observation_status_becomes_its_hl7_letter(tmp_path, conn, rows, status, letter):
    result = fhir.read(ndjson(tmp_path, [observation("o1", "Patient/P1", status=status)]), conn)
    assert rows(result, "labs")[0]["status"] == letter


def test_ndjson_line_numbers_rejects_and_skips(tmp_path, conn, rows):
    lines = [
        observation("o1", "Patient/P1"),                                           # 1
        "",                                                                         # 2 blank
        '{"resourceType": "Observation", "id": "o2", "status": "fin',               # 3 truncated JSON
        observation("o3", None),                                                    # 4 no subject
        '["not", "an", "object"]',                                                  # 5
        {"id": "x"},                                                                # 6 no resourceType
        {"resourceType": "Encounter", "id": "e1", "subject": {"reference": "Patient/P1"}},  # 7 skipped
        observation("o8", "Patient/P2", value=None, valueQuantity={"value": 0.20, "comparator": "<", "unit": "mg/L"},
                    code="1988-5"),                                                 # 8
        observation("o9", "Group/g1"),                                              # 9 not a patient
    ]
    result = fhir.read(ndjson(tmp_path, lines), conn)
    assert result.format == "fhir_ndjson"
    assert [(r.source_row, r.reason) for r in result.rejects] == [
        (3, "unparseable_message"), (4, "missing_subject"), (5, "unparseable_message"),
        (6, "unparseable_message"), (9, "missing_subject")]
    assert result.rejects[1].payload["resource"]["id"] == "o3"
    assert result.rejects[0].payload["line"].startswith('{"resourceType": "Observation", "id": "o2"')
    labs = rows(result, "labs")
    assert [(r["source_row"], r["result_id"]) for r in labs] == [(1, "o1"), (8, "o8")]
    assert (labs[1]["value"], labs[1]["unit"]) == ("<0.2", "mg/L")   # no UCUM code: the unit text
    assert result.rows_skipped == 1
    assert result.rows_read == 2 + 5


def test_fracture_conditions_and_procedures_others_skipped(tmp_path, conn, rows):
    snomed = "http://snomed.info/sct"
    lines = [
        {"resourceType": "Condition", "id": "c1", "subject": {"reference": "Patient/P1"},
         "code": {"coding": [{"system": snomed, "code": "5913000", "display": "Fracture of neck of femur"}],
                  "text": "hip"},
         "bodySite": [{"text": "hip"}], "onsetDateTime": "2019-06-01",
         "extension": [{"url": fhir.FRAGILITY_URL, "valueBoolean": False}]},
        {"resourceType": "Condition", "id": "c2", "subject": {"reference": "Patient/P1"},
         "code": {"coding": [{"system": snomed, "code": "38341003", "display": "Hypertensive disorder"}]},
         "onsetDateTime": "2019-06-01"},
        {"resourceType": "Condition", "id": "c3", "subject": {"reference": "Patient/P2"},
         "verificationStatus": {"coding": [{"code": "entered-in-error"}]},
         "code": {"coding": [{"system": snomed, "code": "263225007", "display": "Fracture of vertebral column"}]},
         "recordedDate": "2020-01-02T10:00:00Z"},
        {"resourceType": "Procedure", "id": "pr1", "status": "completed", "subject": {"reference": "Patient/P3"},
         "code": {"coding": [{"system": snomed, "code": "179097002",
                              "display": "Open reduction of fracture of radius"}]},
         "performedDateTime": "2021-02-03"},
    ]
    result = fhir.read(ndjson(tmp_path, lines, "Condition.ndjson"), conn)
    fractures = rows(result, "fractures")
    assert [(r["result_id"], r["patient_id"], r["fracture_date"], r["status"]) for r in fractures] == [
        ("c1", "Patient/P1", "2019-06-01", "F"), ("c3", "Patient/P2", "2020-01-02T10:00:00Z", "D"),
        ("pr1", "Patient/P3", "2021-02-03", "F")]
    assert (fractures[0]["site"], fractures[0]["fragility"], fractures[0]["code"], fractures[0]["code_system"]) == \
        ("hip", "false", "5913000", "SNOMED")
    assert fractures[1]["fragility"] is None
    assert result.rows_skipped == 1


def test_patients_sex_sources_and_menopausal_extension(tmp_path, conn, rows):
    lines = [
        patient("P1", gender="male", extension=[
            {"url": "http://hl7.org/fhir/us/core/StructureDefinition/us-core-birthsex", "valueCode": "F"},
            {"url": fhir.MENOPAUSAL_STATUS_URL, "valueCode": "post"}]),
        patient("P2", gender="other"),
        patient(None, identifier=[{"value": "MRN-3"}]),
    ]
    found = rows(fhir.read(ndjson(tmp_path, lines, "Patient.ndjson"), conn), "patients")
    assert [(r["patient_id"], r["sex"], r["menopausal_status"]) for r in found] == [
        ("Patient/P1", "female", "post"), ("Patient/P2", "other", None),
        (None, "female", None)]   # neither an id nor a record identifier: quarantined by the loader


def test_ndjson_named_json_is_read_line_by_line(tmp_path, conn, rows):
    path = ndjson(tmp_path, [observation("o1", "Patient/P1"), observation("o2", "Patient/P2")], "export.json")
    result = fhir.read(path, conn)
    assert result.format == "fhir_ndjson"
    assert [r["patient_id"] for r in rows(result, "labs")] == ["Patient/P1", "Patient/P2"]


def test_a_json_file_that_does_not_parse_is_quarantined_whole(tmp_path, conn):
    path = tmp_path / "broken.json"
    path.write_text('{"resourceType": "Bundle", "entry": [')
    result = fhir.read(path, conn)
    [reject] = result.rejects
    assert (reject.reason, reject.source_row, result.batches) == ("unparseable_message", 1, [])
    assert reject.payload["text"] == '{"resourceType": "Bundle", "entry": ['


def test_a_bulk_export_manifest_is_skipped_not_quarantined(tmp_path, conn):
    path = tmp_path / "export.json"
    path.write_text(json.dumps({"transactionTime": "2024-03-05T08:00:00Z", "request": "$export",
                                "requiresAccessToken": False,
                                "output": [{"type": "Observation", "url": "Observation.ndjson"}], "error": []}))
    result = fhir.read(path, conn)
    assert (result.batches, result.rejects, result.rows_skipped) == ([], [], 1)


def test_looks_like(tmp_path):
    assert fhir.looks_like(tmp_path / "a.json", b'{"resourceType": "Bundle"')
    assert fhir.looks_like(tmp_path / "Observation.ndjson", b'{"id": "x", "resourceType": "Observation"}\n')
    assert not fhir.looks_like(tmp_path / "a.csv", b"patient_id,sex\n")
    assert not fhir.looks_like(tmp_path / "a.txt", b'{"name": "not fhir"}')


# Issue 19: every FHIR record loaded, quarantined with a reason, or counted -------------------

def test_a_whole_bundle_on_one_ndjson_line_is_opened(tmp_path, conn, rows):
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [
        {"fullUrl": "urn:uuid:p", "resource": patient(None)},
        {"resource": observation("o1", "urn:uuid:p")}, {"resource": observation("o2", "urn:uuid:p")}]}
    result = fhir.read(ndjson(tmp_path, [observation("o0", "Patient/P0"), bundle]), conn)
    assert [(r["source_row"], r["patient_id"], r["result_id"]) for r in rows(result, "labs")] == [
        (1, "Patient/P0", "o0"), (2, "Patient/p", "o1"), (2, "Patient/p", "o2")]
    assert [r["patient_id"] for r in rows(result, "patients")] == ["Patient/p"]
    assert (result.rows_read, result.rows_skipped, result.rejects) == (4, 0, [])


def test_a_bad_byte_or_a_broken_line_quarantines_that_line_only(tmp_path, conn, rows):
    path = tmp_path / "Observation.ndjson"
    good = [json.dumps(observation(f"o{i}", "Patient/P1")).encode() for i in range(3)]
    path.write_bytes(good[0] + b"\n" + good[1].replace(b"P1", b"P\xff1") + b"\n{\"resourceType\": \"Obs\n" + good[2] + b"\n")
    result = fhir.read(path, conn)
    assert [r["result_id"] for r in rows(result, "labs")] == ["o0", "o2"]
    assert [(r.source_row, r.reason) for r in sorted(result.rejects, key=lambda r: r.source_row)] == [
        (2, "unparseable_message"), (3, "unparseable_message")]
    assert "not UTF-8" in next(r for r in result.rejects if r.source_row == 2).payload["error"]
    assert result.rows_read == 4


@pytest.mark.parametrize(("document", "sentence"), [
    ({"resourceType": "Bundle", "entry": {"resource": {}}}, "the Bundle's `entry` is not a list"),
    ([1, 2], "not a FHIR resource"),
    ("[" * 10_000 + "]" * 10_000, "nests too deeply"),
])
def test_malformed_json_shapes_end_in_one_sentence(tmp_path, conn, document, sentence):
    path = tmp_path / "odd.json"
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    result = fhir.read(path, conn)
    assert result.batches == [] and result.rows_read == 1
    [reject] = result.rejects
    assert reject.reason == "unparseable_message" and sentence in reject.payload["error"]


def test_a_string_identifier_and_an_uncoded_condition_are_counted(tmp_path, conn, rows):
    lines = [patient("P1", identifier="not-a-list"),
             {"resourceType": "Condition", "id": "c1", "subject": {"reference": "Patient/P1"},
              "code": {"text": "hypertension"}}]
    result = fhir.read(ndjson(tmp_path, lines, "mixed.ndjson"), conn)
    assert [r["patient_id"] for r in rows(result, "patients")] == ["Patient/P1"]
    assert (result.rows_read, result.rows_skipped, result.rejects) == (1, 1, [])   # the Condition: counted


def test_a_dxa_panel_with_components_gives_each_measure(tmp_path, conn, rows):
    panel = {"resourceType": "Observation", "id": "dxa1", "status": "final", "subject": {"reference": "Patient/P1"},
             "code": {"coding": [{"system": "http://loinc.org", "code": "38269-7"}]},
             "effectiveDateTime": "2024-03-10",
             "component": [
                 {"code": {"coding": [{"system": "http://loinc.org", "code": "38267-1"}]},
                  "valueQuantity": {"value": -2.1, "unit": "{T-score}"}},
                 {"code": {"coding": [{"system": "urn:oid:2.16.840.1.113883.6.1", "code": "24966-4"}]},
                  "valueQuantity": {"value": 810, "unit": "mg/cm2"}},
                 {"code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]}, "valueInteger": 61}]}
    result = fhir.read(ndjson(tmp_path, [panel]), conn)
    assert sorted((r["result_id"], r["site"], r["t_score"], r["bmd_g_cm2"], r["bmd_unit"]) for r in rows(result, "dxa")) == [
        ("dxa1.1", "lumbar_spine_l1_l4", "-2.1", None, None), ("dxa1.2", "lumbar_spine_l1_l4", None, "810", "mg/cm2")]
    assert [(r["result_id"], r["code"], r["value"]) for r in rows(result, "labs")] == [("dxa1.3", "29463-7", "61")]
    assert result.rows_read == 3 and result.rejects == []
