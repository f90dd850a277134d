"""Partial birth dates (osteoreg issue 13): `1960` and `1960-03` (HL7 DTM `196003`, FHIR `date`,
ISO 8601 reduced precision in a flat export) keep the patient and her sex, store the precision
and give `birth_year`; the age at a scan is empty unless every birth date the precision allows
gives the same whole years, and the age band and the ISCD age-50 decision are used where every
possible age agrees. Real loader and DuckDB warehouse; the marts through one real `dbt build`.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import duckdb
import pytest

from etl.ingest.loader import ingest_paths

MSH = "MSH|^~\\&|LAB|HOSP|REG|OST|20240305080000||ORU^R01|M1|P|2.5.1\r"


def hl7_patient(birth: str, pid: str = "H1") -> str:
    return (MSH + f"PID|1||{pid}^^^HOSPH^MR||DOE^J||{birth}|F\r"
            + "OBR|1||A1|2601-3^MG^LN|||20240305080000\r"
            + "OBX|1|NM|2601-3^Magnesium^LN||0.80|mmol/L|||||F\r")


def fhir_patient(birth: str, rid: str = "f1") -> str:
    return json.dumps({"resourceType": "Patient", "id": rid, "gender": "female", "birthDate": birth,
                       "identifier": [{"system": "urn:hospf:mrn", "value": rid,
                                       "type": {"coding": [{"code": "MR"}]}}]})


def flat_patient(birth: str) -> str:
    return f"patient_id,sex,birth_date\nP1,F,{birth}\n"


@pytest.mark.parametrize(("name", "text", "precision", "stored"), [
    ("patients.csv", flat_patient("1960"), "year", "1960-01-01"),
    ("patients.csv", flat_patient("1960-03"), "month", "1960-03-01"),
    ("patients.csv", flat_patient("1960-03-07"), "day", "1960-03-07"),
    ("m.hl7", hl7_patient("1960"), "year", "1960-01-01"),
    ("m.hl7", hl7_patient("196003"), "month", "1960-03-01"),
    ("m.hl7", hl7_patient("19600307"), "day", "1960-03-07"),
    ("m.hl7", hl7_patient("196003071230"), "day", "1960-03-07"),
    ("p.json", fhir_patient("1960"), "year", "1960-01-01"),
    ("p.json", fhir_patient("1960-03"), "month", "1960-03-01"),
    ("p.json", fhir_patient("1960-03-07"), "day", "1960-03-07"),
])
def test_a_partial_birth_date_keeps_the_patient_and_her_sex(tmp_path, write, warehouse_path, secret, query,
                                                            name, text, precision, stored):
    outcome = ingest_paths(warehouse_path, [write(tmp_path / "in" / name, text)]).files[0]
    assert outcome.status == "loaded", outcome.message
    assert query("SELECT reason FROM audit.quarantine WHERE kind = 'patients'") == []
    assert query("SELECT upper(left(sex, 1)), CAST(birth_date AS VARCHAR), birth_date_precision FROM raw.patients") == [
        ("F", stored, precision)]


@pytest.mark.parametrize(("name", "text"), [
    ("patients.csv", flat_patient("1960-13")),
    ("patients.csv", flat_patient("196")),
    ("m.hl7", hl7_patient("196013")),
    ("p.json", fhir_patient("1960-00")),
])
def test_an_impossible_partial_birth_date_is_still_an_invalid_date(tmp_path, write, warehouse_path, secret,
                                                                   query, name, text):
    outcome = ingest_paths(warehouse_path, [write(tmp_path / "in" / name, text)]).files[0]
    assert outcome.status == "loaded", outcome.message
    assert query("SELECT reason, field FROM audit.quarantine WHERE kind = 'patients'") == [
        ("invalid_date", "birth_date")]


def test_a_redelivered_partial_birth_date_is_a_duplicate_and_a_whole_one_is_not(
        tmp_path, write, warehouse_path, secret, query):
    """The precision is part of the row's content: `1960` and `1960-01-01` are two deliveries."""
    first = ingest_paths(warehouse_path, [write(tmp_path / "a" / "patients.csv", flat_patient("1960"))]).files[0]
    resent = flat_patient("1960").replace("\n", "\r\n")  # other bytes, the same row
    again = ingest_paths(warehouse_path, [write(tmp_path / "b" / "patients.csv", resent)]).files[0]
    whole = ingest_paths(warehouse_path, [write(tmp_path / "c" / "patients.csv", flat_patient("1960-01-01"))]).files[0]
    assert (first.rows_loaded, again.rows_duplicate, whole.rows_loaded) == (1, 1, 1)


# One build over all three formats ------------------------------------------------------------

PATIENTS = """patient_id,sex,birth_date
Y60,F,1960
Y60DEC,F,1960
M74JUN,M,1974-06
M74MAY,M,1974-05
Y75,M,1975
D50,F,1950-01-01
"""
# Scans on 1 June 2024 except Y60DEC's (31 December: the only day a year-only birth date gives
# whole years). T -2.6 and Z -2.1 for every scan.
DXA = "patient_id,scan_date,site,t_score,z_score\n" + "".join(
    f"{pid},{day},femoral_neck,-2.6,-2.1\n" for pid, day in [
        ("Y60", "2024-06-01"), ("Y60DEC", "2024-12-31"), ("M74JUN", "2024-06-01"), ("M74MAY", "2024-06-01"),
        ("Y75", "2024-06-01"), ("D50", "2024-06-01"), ("NONE", "2024-06-01")])
LABS = "patient_id,collected_at,code,value,unit\n" + "".join(
    f"{pid},{day},2601-3,0.70,mmol/L\n" for pid, day in [
        ("Y60", "2024-06-01"), ("Y60DEC", "2024-12-31"), ("M74JUN", "2024-06-01"), ("M74MAY", "2024-06-01"),
        ("Y75", "2024-06-01"), ("D50", "2024-06-01"), ("NONE", "2024-06-01")])


# H1's DXA scan by HL7 (tests/ingest/test_hl7_dxa.py): one OBR, BMD in mg/cm2, and a later
# message correcting the T-score (OBX-11 C, a later MSH-7).
HL7_SCAN = ("MSH|^~\\&|DXA|HOSP|REG|OST|20240305100000||ORU^R01|D1|P|2.5.1\r"
            "PID|1||H1^^^HOSPH^MR||DOE^J||196003|F\r"
            "OBR|1||S1|38269-7^DXA panel^LN|||20240305093000\r"
            "OBX|1|NM|38263-0^Femoral neck T-score^LN||-2.6|{T-score}|||||F\r"
            "OBX|2|NM|24701-5^Femoral neck BMD^LN||810|mg/cm2|||||F\r"
            "MSH|^~\\&|DXA|HOSP|REG|OST|20240306100000||ORU^R01|D2|P|2.5.1\r"
            "PID|1||H1^^^HOSPH^MR||DOE^J||196003|F\r"
            "OBR|1||S1|38269-7^DXA panel^LN|||20240305093000\r"
            "OBX|1|NM|38263-0^Femoral neck T-score^LN||-2.8|{T-score}|||||C\r")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """One warehouse: the flat cohort above, an HL7 patient born `196003` with a DXA scan and a
    FHIR one born `1958`, built once in its own process (as `osteoreg ingest` and `osteoreg
    build` run)."""
    root = tmp_path_factory.mktemp("partial")
    folder = root / "in"
    folder.mkdir()
    for name, text in [("patients.csv", PATIENTS), ("dxa.csv", DXA), ("labs.csv", LABS),
                       ("m.hl7", hl7_patient("196003")), ("scan.hl7", HL7_SCAN),
                       ("p.json", fhir_patient("1958"))]:
        (folder / name).write_text(text, encoding="utf-8")
    warehouse = root / "osteoreg.duckdb"
    script = ("import sys; from pathlib import Path; from etl.ingest.loader import ingest_paths; "
              "from etl.build import build; w = Path(sys.argv[1]); "
              "r = ingest_paths(w, [Path(sys.argv[2])]); "
              "assert all(f.status == 'loaded' for f in r.files), [f.message for f in r.files]; build(w)")
    env = {**os.environ, "OSTEOREG_SECRET": "test-secret-of-at-least-32-characters"}
    done = subprocess.run([sys.executable, "-c", script, str(warehouse), str(folder)],
                          capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    conn = duckdb.connect(str(warehouse), read_only=True)
    yield conn
    conn.close()


def _by_patient(conn, sql: str) -> dict:
    """Rows of `sql` (first column the source patient id) keyed by that id."""
    return {row[0]: row[1:] for row in conn.execute(sql).fetchall()}


def test_dim_patient_has_the_birth_year_and_its_precision_in_every_format(built):
    rows = _by_patient(built, """
        SELECT split_part(ids.id_value, '|', -1), d.sex, d.birth_year, d.birth_date_precision
        FROM marts.dim_patient AS d
        JOIN identity.patient_identifiers AS ids ON ids.patient_key = d.patient_key""")
    assert rows["Y60"] == ("F", 1960, "year")
    assert rows["M74JUN"] == ("M", 1974, "month")
    assert rows["D50"] == ("F", 1950, "day")
    assert rows["NONE"] == ("unknown", None, None)  # no patient row at all
    assert rows["H1"] == ("F", 1960, "month")     # HL7 PID-7 196003
    assert rows["f1"] == ("F", 1958, "year")      # FHIR birthDate 1958


def test_age_at_scan_is_empty_where_the_precision_cannot_give_whole_years(built):
    rows = _by_patient(built, """
        SELECT split_part(ids.id_value, '|', -1), a.age_at_scan, a.age_band, a.who_criteria_apply,
               a.iscd_category
        FROM marts.fct_bmd_assessment AS a
        JOIN identity.patient_identifiers AS ids ON ids.patient_key = a.patient_key""")
    assert rows["Y60"] == (None, "60-69", True, "osteoporosis")        # 63 or 64: same band, >= 50
    assert rows["Y60DEC"] == (64, "60-69", True, "osteoporosis")       # 31 December: certain
    assert rows["M74JUN"] == (None, None, False, None)                 # 49 or 50: undecided
    assert rows["M74MAY"] == (50, "50-59", True, "osteoporosis")       # birth month passed
    assert rows["Y75"] == (None, "<50", False, "below_expected_range_for_age")  # 48 or 49
    assert rows["D50"] == (74, "70-79", True, "osteoporosis")
    assert rows["NONE"] == (None, None, False, None)


def test_prevalence_counts_an_unknown_age_band_as_its_own_cell(built):
    """No patient is dropped from the crude counts: the two without a certain band (M74JUN, born
    in the scan's month, and NONE, who has no patient row) are cells of their own with an empty
    band, beside the known bands."""
    cells = built.execute("""
        SELECT sex, age_band, who_category FROM marts.mg_deficiency_prevalence
        WHERE year = 2024 ORDER BY ALL""").fetchall()
    assert cells == [("F", "60-69", "osteoporosis"), ("F", "70-79", "osteoporosis"),
                     ("M", "50-59", "osteoporosis"),
                     ("M", "<50", "osteoporosis"), ("M", None, "osteoporosis"),
                     ("unknown", None, "osteoporosis")]


def test_an_hl7_dxa_scan_is_one_assessment_with_its_correction(built):
    """One OBR is one scan: the T-score corrected by a later message, the BMD in mg/cm2 read as
    g/cm2; born March 1960 and scanned on 5 March 2024, she is 63 or 64: no age, band 60-69."""
    rows = built.execute("""
        SELECT a.t_score_femoral_neck, a.bmd_femoral_neck, a.age_at_scan, a.age_band, a.who_category
        FROM marts.fct_bmd_assessment AS a
        JOIN identity.patient_identifiers AS ids ON ids.patient_key = a.patient_key
        WHERE ids.id_value = 'H1'""").fetchall()
    assert rows == [(-2.8, 0.81, None, "60-69", "osteoporosis")]
