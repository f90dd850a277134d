"""HL7 v2 and FHIR files through the real loader into a real warehouse (and dbt for the marts)."""
from __future__ import annotations

import json

import pytest

from etl.ingest.loader import ingest_paths

from .conftest import build_in_subprocess

HL7_HEAD = "MSH|^~\\&|LAB|HOSP|REG|OST|{ts}||ORU^R01|{id}|P|2.5.1\rPID|1||{pid}^^^H^MR||DOE^J||19500101|F\r"


def hl7_result(msg_id: str, pid: str, acc: str, value: str, status: str, unit: str = "mmol/L",
               code: str = "2601-3", ts: str = "20240305080000") -> str:
    return (HL7_HEAD.format(ts=ts, id=msg_id, pid=pid)
            + f"OBR|1||{acc}|{code}^Mg^LN|||{ts}\r"
            + f"OBX|1|NM|{code}^Magnesium^LN||{value}|{unit}|0.66-1.07||||{status}|||{ts}\r")


# Keys to patients as identity resolved them (several source references may name one patient).
PERSONS = """(SELECT DISTINCT r.person_id AS patient_id, k.patient_key FROM identity.patient_map AS k
              JOIN identity.patient_references AS r USING (patient_id))"""


def outcomes(report) -> dict:
    return {o.path.name: o for o in report.files}


def test_external_samples_load_or_are_quarantined_with_their_reason(external, tmp_path, write, warehouse_path,
                                                                     secret, query):
    # The samples come from different organisations; their assigning authorities (PID-3 CX.4)
    # are declared apart, as a registry receiving them would (contract section 2a).
    settings = write(tmp_path / "identity.yaml",
                     "namespaces:\n  fhir_converter: ['1', 'IA PHIMS Stage']\n  nist: [MPI]\n")
    report = ingest_paths(warehouse_path, identity_path=settings, paths=[
        external / "fhir-converter" / "LAB-ORU-1.hl7", external / "fhir-converter" / "LAB-ORU-2.hl7",
        external / "fhir-converter" / "ORU-R01-01.hl7", external / "fhir-converter" / "ORU-R01-RMGEAD.hl7",
        external / "python-hl7" / "sample_hl7.hl7",
        external / "node-hl7-complete" / "ORU_R01_2.5.1_SampleTestCase1.hl7", external / "us-core"])
    files = outcomes(report)
    assert {o.status for o in report.files} == {"loaded"}
    for o in report.files:   # nothing is lost
        assert o.rows_read == o.rows_loaded + o.rows_quarantined + o.rows_duplicate, o.path.name
    assert (files["LAB-ORU-1.hl7"].format, files["patient-example.json"].format) == ("hl7v2", "fhir_json")
    assert (files["LAB-ORU-2.hl7"].rows_loaded, files["LAB-ORU-2.hl7"].rows_duplicate) == (10, 1)  # the PID again
    assert files["DiagnosticReport-bone-density-report.json"].rows_skipped == 1
    reasons = query("""
        SELECT regexp_extract(l.source_path, '[^/]+$'), q.source_row, q.reason, q.field
        FROM audit.quarantine q JOIN audit.loads l USING (load_id) ORDER BY ALL""")
    assert reasons == [
        ("LAB-ORU-1.hl7", 4, "missing_date", "collected_at"),      # status I, no OBX-14 nor OBR-7
        ("LAB-ORU-1.hl7", 6, "missing_date", "collected_at"),
        ("ORU-R01-01.hl7", 1, "unparseable_message", "OBX-11"),
        ("sample_hl7.hl7", 2, "invalid_date", "birth_date"),       # PID-7 196203520
    ]
    versions = query("SELECT status, value_num FROM raw.lab_results WHERE code = '11273-0' ORDER BY load_id")
    assert versions == [("P", 4.06), ("F", 4.08)]                # raw keeps every version
    assert query("SELECT value_num, unit, abnormal_flag, collected_at::VARCHAR, collected_offset "
                 "FROM raw.lab_results WHERE code = '10368-9'") == [
        (50.0, "ug/dL", "H", "2008-08-15 10:30:00", "-07:00")]
    assert query("SELECT value_num, unit, is_tracked FROM raw.lab_results WHERE code = '17861-6'") == [
        (7.7, "mg/dL", True)]
    assert query("SELECT site, side, t_score, z_score, bmd_g_cm2, scan_date::VARCHAR, scan_offset "
                 "FROM raw.dxa_results ORDER BY site, t_score NULLS LAST, z_score NULLS LAST") == [
        ("femoral_neck", "left", -1.48, None, None, "2021-11-10", "-08:00"),
        ("femoral_neck", "left", None, 0.05, None, "2021-11-10", "-08:00"),
        ("femoral_neck", "left", None, None, 0.631, "2021-11-10", "-08:00"),
        ("total_hip", "left", -1.62, None, None, "2021-11-10", "-08:00"),
        ("total_hip", "left", None, -0.19, None, "2021-11-10", "-08:00"),
        ("total_hip", "left", None, None, 0.734, "2021-11-10", "-08:00"),
    ]
    # Patient/example is keyed by her record number (type MR), not by the server's logical id
    assert query("SELECT sex, birth_date::VARCHAR FROM raw.patients "
                 "WHERE patient_id = 'http://example.org/patient/identifiers|1032702'") == [("female", "1987-02-20")]
    again = ingest_paths(warehouse_path, [external / "us-core", external / "fhir-converter"])
    assert {o.status for o in again.files} == {"skipped"}          # the same files again change nothing


def test_malformed_inputs_are_quarantined_and_nothing_else_is_lost(tmp_path, warehouse_path, secret, query):
    feed = tmp_path / "feed.hl7"
    feed.write_text(
        hl7_result("M1", "P1", "A1", "0.80", "F")
        + hl7_result("M2", "P2", "A2", "1.9", "F", unit="mg/kg")               # unknown unit
        + hl7_result("M3", "P3", "A3", "0.70", "F")[:-30] + "\r"              # truncated message
        + hl7_result("M4", "P5", "A4", "0.90", "F"))
    ndjson = tmp_path / "Observation.ndjson"
    good = {"resourceType": "Observation", "id": "o1", "status": "final", "subject": {"reference": "Patient/P4"},
            "code": {"coding": [{"system": "http://loinc.org", "code": "2601-3"}]},
            "effectiveDateTime": "2024-03-05", "valueQuantity": {"value": 0.8, "code": "mmol/L"}}
    lines = [good, '{"resourceType": "Observation", "id": "o2", "sta',
             {**good, "id": "o3", "subject": None},
             {**good, "id": "o4", "valueQuantity": {"value": 0.8, "unit": "mg/kg"}},
             {**good, "id": "o5", "status": "unknown"}]
    ndjson.write_text("\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n")
    report = ingest_paths(warehouse_path, [feed, ndjson])
    files = outcomes(report)
    assert (files["feed.hl7"].rows_read, files["feed.hl7"].rows_loaded, files["feed.hl7"].rows_quarantined) == (7, 5, 2)
    assert (files["Observation.ndjson"].rows_loaded, files["Observation.ndjson"].rows_quarantined) == (1, 4)
    assert query("SELECT regexp_extract(l.source_path, '[^/]+$'), q.source_row, q.reason FROM audit.quarantine q "
                 "JOIN audit.loads l USING (load_id) ORDER BY ALL") == [
        ("Observation.ndjson", 2, "unparseable_message"), ("Observation.ndjson", 3, "missing_subject"),
        ("Observation.ndjson", 4, "unknown_unit"), ("Observation.ndjson", 5, "invalid_status"),
        ("feed.hl7", 8, "unknown_unit"), ("feed.hl7", 9, "unparseable_message")]
    payload = query("SELECT payload->>'message' FROM audit.quarantine WHERE source_row = 9")[0][0]
    assert payload.startswith("MSH|") and "P3" in payload and payload.endswith("|0.70|mmol/L|0.")
    # raw rows carry the source reference: HL7 `P1^^^H^MR` as `H|P1`, a FHIR subject as `Patient/P4`
    assert query("SELECT patient_id, value_num FROM raw.lab_results ORDER BY 1") == [
        ("H|P1", 0.8), ("H|P5", 0.9), ("Patient/P4", 0.8)]


@pytest.mark.slow
def test_status_semantics_reach_the_marts(external, tmp_path, warehouse_path, secret, query):
    first = tmp_path / "first.hl7"
    first.write_text(hl7_result("M1", "H1", "A1", "0.50", "P") + hl7_result("M2", "H2", "A2", "0.60", "F")
                     + hl7_result("M3", "H3", "A3", "0.70", "F") + hl7_result("M4", "H4", "A4", "", "X"))
    second = tmp_path / "second.hl7"
    second.write_text(hl7_result("M5", "H1", "A1", "0.81", "F") + hl7_result("M6", "H2", "A2", "0.62", "C")
                      + hl7_result("M7", "H3", "A3", "0.70", "D"))
    mg = {"resourceType": "Observation", "subject": {"reference": "Patient/F1"},
          "code": {"coding": [{"system": "http://loinc.org", "code": "19123-9"}]},
          "effectiveDateTime": "2024-03-05T08:00:00-05:00", "valueQuantity": {"value": 2.0, "unit": "mg/dL"}}
    bulk = tmp_path / "Observation.ndjson"
    bulk.write_text("\n".join(json.dumps(r) for r in [
        {**mg, "id": "f1", "status": "preliminary"},
        {**mg, "id": "f1", "status": "final", "valueQuantity": {"value": 2.1, "unit": "mg/dL"}},
        {**mg, "id": "f2", "status": "final", "subject": {"reference": "Patient/F2"}},
        {**mg, "id": "f2", "status": "amended", "subject": {"reference": "Patient/F2"},
         "valueQuantity": {"value": 1.5, "unit": "mg/dL"}},
        {**mg, "id": "f3", "status": "final", "subject": {"reference": "Patient/F3"}},
        {**mg, "id": "f3", "status": "entered-in-error", "subject": {"reference": "Patient/F3"}},
        {**mg, "id": "f4", "status": "cancelled", "subject": {"reference": "Patient/F4"}, "valueQuantity": None}]))
    report = ingest_paths(warehouse_path, [first, second, bulk, external / "us-core"])
    assert {o.status for o in report.files} == {"loaded"}
    build_in_subprocess(warehouse_path)
    current = query(f"""SELECT m.patient_id, f.value_si, f.status FROM marts.fct_lab_result f
                       JOIN {PERSONS} m USING (patient_key) WHERE f.analyte = 'magnesium' ORDER BY 1""")
    assert current == [("F1", round(2.1 * 0.41144, 6), "F"), ("F2", round(1.5 * 0.41144, 6), "A"),
                       ("H1", 0.81, "F"), ("H2", 0.62, "C")]
    assert query("SELECT count(*) FROM raw.lab_results "
                 "WHERE patient_id IN ('H|H1', 'H|H2', 'H|H3', 'H|H4', 'Patient/F1', 'Patient/F2', 'Patient/F3', "
                 "'Patient/F4')") == [(14,)]
    # her scans name her `Patient/example`; her Patient resource links that to her record number
    [amy] = query(f"""SELECT a.scan_date::VARCHAR, a.age_at_scan, a.t_score_femoral_neck, a.t_score_total_hip,
                            a.min_t_score, a.min_t_score_site, a.who_category, a.iscd_category
                     FROM marts.fct_bmd_assessment a JOIN {PERSONS} m USING (patient_key)
                     WHERE m.patient_id = '1032702'""")
    assert amy == ("2021-11-10", 34, -1.48, -1.62, -1.62, "total_hip", "osteopenia", "within_expected_range_for_age")
    assert query("""SELECT f.value_si, f.unit_si, f.value_original, f.unit_original FROM marts.fct_lab_result f
                    WHERE f.analyte = 'calcium'""") == [(round(7.7 * 0.24951, 6), "mmol/L", 7.7, "mg/dL")]
