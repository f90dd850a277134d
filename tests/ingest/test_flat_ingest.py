"""Flat-file ingestion against a real DuckDB file with real Alembic migrations."""
from __future__ import annotations

import json
import shutil
from datetime import date, datetime

import pytest

from etl import identity
from etl.ingest import loader
from etl.ingest.loader import ingest_paths
from etl.terminology import quarantine_reasons

PATIENTS = """patient_id,sex,birth_date,menopausal_status,ethnicity
P1,F,1950-02-03,post,
P2,male,1960-01-01,,
,F,1950-01-01,post,
P4,F,19xx-01-01,,
P5,F,,post,
P6,F,1955-01-01,menopause,
P1,F,1950-02-03,post,
"""

LABS = """patient_id,collected_at,code,code_system,value,unit,status,accession_id
P1,2024-03-05T08:30:00-08:00,19123-9,LOINC,"2,0",mg/dl,F,A1
P1,2024-03-05T08:31:00,2601-3,LN,<0.20,MMOL/L,,A2
P1,2024-03-05,1988-5,LOINC,>150,mg/L,F,A3
P1,2024-03-05,9999-9,LOINC,hello,,F,A4
,2024-03-05,2601-3,LOINC,0.8,mmol/L,F,A5
P1,,2601-3,LOINC,0.8,mmol/L,F,A6
P1,2024-02-30,2601-3,LOINC,0.8,mmol/L,F,A7
P1,2024-03-05,,LOINC,0.8,mmol/L,F,A8
P1,2024-03-05,2601-3,LOINC,0.8,mmol/L,Q,A9
P1,2024-03-05,2601-3,LOINC,,mmol/L,F,A10
P1,2024-03-05,2601-3,LOINC,abc,mmol/L,F,A11
P1,2024-03-05,2601-3,LOINC,0.8,,F,A12
P1,2024-03-05,2601-3,LOINC,0.8,mg/kg,F,A13
P1,2024-03-05,2601-3,LOINC,,,X,A14
P1,2024-03-05T08:30:00-08:00,19123-9,LOINC,"2,0",mg/dl,F,A1
"""

DXA = """patient_id,scan_date,site,side,t_score,z_score,bmd_g_cm2
P1,2024-03-01,femoral_neck,left,-2.6,-1.0,0.61
P1,2024-03-01,Femoral_Neck,R,-2.1,,
P1,2024-03-01,knee,,-1,,
P1,2024-03-01,total_hip,middle,-1,,
P1,2024-03-01,lumbar_spine_l1_l4,,x,,
P1,2024-03-01,lumbar_spine_l1_l4,,,,
"""

FRACTURES = """patient_id,fracture_date,site,fragility
P1,2023-01-01,wrist,
P1,2023-01-02,hip,maybe
P1,2023-01-03,,true
"""


@pytest.fixture
def exports(tmp_path, write):
    folder = tmp_path / "exports"
    write(folder / "patients.csv", PATIENTS)
    write(folder / "labs.csv", LABS)
    write(folder / "dxa.csv", DXA)
    write(folder / "nested" / "fractures.csv", FRACTURES)
    return folder


def test_every_reason_code_names_row_and_field(exports, warehouse_path, secret, query):
    ingest_paths(warehouse_path, [exports])
    rows = query("""
        SELECT l.source_path, q.source_row, q.reason, q.field
        FROM audit.quarantine q JOIN audit.loads l USING (load_id) ORDER BY l.source_path, q.source_row""")
    got = {(path.rsplit("/", 1)[1], line, reason, field) for path, line, reason, field in rows}
    assert got == {
        ("dxa.csv", 4, "invalid_site", "site"),
        ("dxa.csv", 5, "invalid_category", "side"),
        ("dxa.csv", 6, "invalid_number", "t_score"),
        ("dxa.csv", 7, "missing_value", "t_score"),
        ("fractures.csv", 3, "invalid_category", "fragility"),
        ("fractures.csv", 4, "missing_code", "site"),
        ("labs.csv", 6, "missing_patient_id", "patient_id"),
        ("labs.csv", 7, "missing_date", "collected_at"),
        ("labs.csv", 8, "invalid_date", "collected_at"),
        ("labs.csv", 9, "missing_code", "code"),
        ("labs.csv", 10, "invalid_status", "status"),
        ("labs.csv", 11, "missing_value", "value"),
        ("labs.csv", 12, "invalid_number", "value"),
        ("labs.csv", 13, "missing_unit", "unit"),
        ("labs.csv", 14, "unknown_unit", "unit"),
        ("patients.csv", 4, "missing_patient_id", "patient_id"),
        ("patients.csv", 5, "invalid_date", "birth_date"),
        ("patients.csv", 6, "missing_date", "birth_date"),
        ("patients.csv", 7, "invalid_category", "menopausal_status"),
    }
    # Every flat-file reason in the seed is exercised above (the other two belong to HL7/FHIR;
    # ambiguous_number has its own table in tests/ingest/test_validate.py; malformed_row, a line
    # DuckDB cannot split, has its own tests in test_malformed_rows.py).
    assert {r for *_, r, _ in got} == set(quarantine_reasons()) - {
        "unparseable_message", "missing_subject", "ambiguous_number", "malformed_row"}
    payload = query("SELECT payload->>'value', payload->>'accession_id' FROM audit.quarantine WHERE reason = 'invalid_number' AND kind = 'labs'")
    assert payload == [("abc", "A11")]


def test_rows_read_equal_loaded_plus_quarantined_plus_duplicate(exports, warehouse_path, secret, query):
    report = ingest_paths(warehouse_path, [exports])
    assert [f.status for f in report.files] == ["loaded"] * 4
    loads = query("""SELECT kind, rows_read, rows_loaded, rows_quarantined, rows_duplicate, rows_untracked
                     FROM audit.loads ORDER BY kind""")
    assert loads == [
        ("dxa", 6, 2, 4, 0, 0),
        ("fractures", 3, 1, 2, 0, 0),
        ("labs", 15, 5, 9, 1, 1),
        ("patients", 7, 2, 4, 1, 0),
    ]
    for kind, read, loaded, quarantined, duplicate, _ in loads:
        assert read == loaded + quarantined + duplicate
    raw_counts = query("""SELECT (SELECT count(*) FROM raw.patients), (SELECT count(*) FROM raw.lab_results),
                                 (SELECT count(*) FROM raw.dxa_results), (SELECT count(*) FROM raw.fractures)""")
    assert raw_counts == [(2, 5, 2, 1)]


def test_values_keep_text_and_local_time(exports, warehouse_path, secret, query):
    ingest_paths(warehouse_path, [exports])
    rows = query("""SELECT accession_id, collected_at, collected_offset, value_text, value_num, value_comparator,
                           unit, status, is_tracked, loinc_code
                    FROM raw.lab_results ORDER BY accession_id""")
    assert rows == [
        ("A1", datetime(2024, 3, 5, 8, 30), "-08:00", "2,0", 2.0, None, "mg/dl", "F", True, "19123-9"),
        ("A14", datetime(2024, 3, 5), None, None, None, None, None, "X", True, "2601-3"),
        ("A2", datetime(2024, 3, 5, 8, 31), None, "<0.20", 0.2, "<", "MMOL/L", "F", True, "2601-3"),
        ("A3", datetime(2024, 3, 5), None, ">150", 150.0, ">", "mg/L", "F", True, "1988-5"),
        ("A4", datetime(2024, 3, 5), None, "hello", None, None, None, "F", False, "9999-9"),
    ]
    sides = query("SELECT site, side, t_score, z_score, bmd_g_cm2 FROM raw.dxa_results ORDER BY side")
    assert sides == [("femoral_neck", "left", -2.6, -1.0, 0.61), ("femoral_neck", "right", -2.1, None, None)]
    assert query("SELECT fragility FROM raw.fractures") == [(True,)]
    assert query("SELECT birth_date FROM raw.patients WHERE patient_id = 'P1'") == [(date(1950, 2, 3),)]


def test_same_file_again_changes_nothing(exports, warehouse_path, secret, query, tmp_path):
    ingest_paths(warehouse_path, [exports])
    before = query("SELECT count(*) FROM raw.lab_results UNION ALL SELECT count(*) FROM audit.loads")
    again = ingest_paths(warehouse_path, [exports])
    assert [f.status for f in again.files] == ["skipped"] * 4
    # The same bytes under another name are recognised by their sha256.
    copy = tmp_path / "copy" / "labs_again.csv"
    copy.parent.mkdir()
    shutil.copy(exports / "labs.csv", copy)
    third = ingest_paths(warehouse_path, [copy])
    assert third.files[0].status == "skipped" and "already loaded as load" in third.files[0].message
    assert query("SELECT count(*) FROM raw.lab_results UNION ALL SELECT count(*) FROM audit.loads") == before


def test_overlapping_export_counts_repeats_as_duplicates(tmp_path, write, warehouse_path, secret, query):
    header = "patient_id,collected_at,code,value,unit,status,accession_id\n"
    first = [f"P{i},2024-01-0{1 + i % 5},2601-3,0.{70 + i},mmol/L,F,X{i}\n" for i in range(10)]
    second = first[6:] + [f"P{i},2024-02-01,2601-3,0.{80 + i},mmol/L,F,Y{i}\n" for i in range(3)]
    write(tmp_path / "a" / "labs_jan.csv", header + "".join(first))
    write(tmp_path / "b" / "labs_feb.csv", header + "".join(second))
    ingest_paths(warehouse_path, [tmp_path / "a"])
    report = ingest_paths(warehouse_path, [tmp_path / "b"])
    outcome = report.files[0]
    assert (outcome.rows_read, outcome.rows_loaded, outcome.rows_duplicate) == (7, 3, 4)
    assert query("SELECT count(*), count(DISTINCT accession_id) FROM raw.lab_results") == [(13, 13)]


def test_a_correction_is_a_new_version_not_a_duplicate(tmp_path, write, warehouse_path, secret, query):
    header = "patient_id,collected_at,code,value,unit,status,accession_id\n"
    write(tmp_path / "x" / "labs.csv", header + "P1,2024-01-01,2601-3,0.70,mmol/L,F,A1\n"
                                                 "P1,2024-01-01,2601-3,0.72,mmol/L,C,A1\n"
                                                 "P1,2024-01-01,2601-3,,mmol/L,D,A1\n")
    report = ingest_paths(warehouse_path, [tmp_path / "x"])
    assert report.files[0].rows_loaded == 3
    assert query("SELECT status, value_num FROM raw.lab_results ORDER BY source_row") == [
        ("F", 0.70), ("C", 0.72), ("D", None)]


def test_failure_half_way_leaves_nothing(exports, warehouse_path, secret, query, monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("disk full")

    # Fail after the raw rows of the first batch were inserted: the rollback must take them back,
    # and the unexpected error is one failed load, not an aborted run.
    monkeypatch.setattr(identity, "assign_keys", explode)
    outcome = ingest_paths(warehouse_path, [exports / "labs.csv"]).files[0]
    assert outcome.status == "failed"
    assert "unexpected RuntimeError" in outcome.message and "disk full" not in outcome.message
    assert query("SELECT status, rows_read FROM audit.loads") == [("failed", 0)]
    assert query("SELECT count(*) FROM raw.lab_results") == [(0,)]
    assert query("SELECT count(*) FROM audit.quarantine") == [(0,)]
    assert query("SELECT count(*) FROM identity.patient_map") == [(0,)]


def test_broken_line_is_quarantined_and_the_rest_loads(tmp_path, write, warehouse_path, secret, query):
    def good(start):
        return "".join(f"P{i},2024-01-01,2601-3,0.8,mmol/L\n" for i in range(start, start + 500))

    path = write(tmp_path / "labs.csv", "patient_id,collected_at,code,value,unit\n" + good(0)
                 + "P9,2024-01-01,2601-3,0.8,mmol/L,extra,fields\n" + good(500))
    outcome = ingest_paths(warehouse_path, [path]).files[0]
    assert (outcome.status, outcome.rows_read, outcome.rows_quarantined) == ("loaded", 1001, 1)
    assert query("SELECT source_row, reason, payload->>'line' FROM audit.quarantine") == [
        (502, "malformed_row", "P9,2024-01-01,2601-3,0.8,mmol/L,extra,fields")]
    assert query("SELECT min(source_row), max(source_row), count(*) FROM raw.lab_results") == [(2, 1002, 1000)]
    assert query("SELECT count(*) FROM raw.lab_results WHERE patient_id <> 'P' || (source_row - 2 - (source_row > 502)::INT)") == [(0,)]


def test_unrecognised_header_is_one_failed_load(tmp_path, write, warehouse_path, secret, query):
    path = write(tmp_path / "notes.csv", "when,what\n2024-01-01,hello\n")
    outcome = ingest_paths(warehouse_path, [path]).files[0]
    assert outcome.status == "failed"
    assert outcome.message.startswith(
        f"{path} line 1: the header (2 columns, none of them a registry column) is not a patients, labs")
    assert query("SELECT status FROM audit.loads") == [("failed",)]
    assert query("SELECT count(*) FROM audit.quarantine") == [(0,)]


def test_tsv_and_parquet_load_like_csv(tmp_path, write, warehouse_path, secret, query):
    import duckdb

    write(tmp_path / "in" / "labs.tsv", "PATIENT_ID\tCollected_At\tCode\tValue\tUnit\n"
                                        "P1\t2024-01-01T10:00:00\t2601-3\t0,81\tmmol/l\n")
    parquet = tmp_path / "in" / "dxa.parquet"
    duckdb.sql(f"""COPY (SELECT 'P1' AS patient_id, DATE '2024-01-05' AS scan_date, 'total_hip' AS site,
                        'left' AS side, -2.5 AS t_score) TO '{parquet}' (FORMAT parquet)""")
    report = ingest_paths(warehouse_path, [tmp_path / "in"])
    assert [(f.format, f.kind, f.rows_loaded) for f in report.files] == [("parquet", "dxa", 1), ("tsv", "labs", 1)]
    assert query("SELECT value_num, unit FROM raw.lab_results") == [(0.81, "mmol/l")]
    assert query("SELECT scan_date, t_score, source_row FROM raw.dxa_results") == [(date(2024, 1, 5), -2.5, 1)]


def test_patient_keys_are_hmac_of_the_source_id(exports, warehouse_path, secret, query):
    ingest_paths(warehouse_path, [exports])
    keys = dict(query("SELECT patient_id, patient_key FROM identity.patient_map"))
    assert set(keys) == {"P1", "P2"}
    for patient_id, key in keys.items():
        assert key == identity.patient_key(secret.encode(), patient_id)
        assert len(key) == identity.KEY_HEX_CHARS


def test_secret_file_is_created_once_owner_only(tmp_path, monkeypatch):
    monkeypatch.delenv("OSTEOREG_SECRET", raising=False)
    warehouse = tmp_path / "w" / "osteoreg.duckdb"
    first = identity.load_secret(warehouse)
    path = identity.secret_path(warehouse)
    assert path.stat().st_mode & 0o777 == 0o600
    assert identity.load_secret(warehouse) == first and len(first) == 64
    path.chmod(0o644)
    with pytest.raises(Exception, match="readable by others"):
        identity.load_secret(warehouse)


def test_secret_never_enters_the_database(exports, warehouse_path, secret, query):
    ingest_paths(warehouse_path, [exports])
    with open(warehouse_path, "rb") as handle:
        assert secret.encode() not in handle.read()


def test_changed_hash_function_rehashes_stored_rows(exports, warehouse_path, secret, query):
    import duckdb

    ingest_paths(warehouse_path, [exports])
    stored = query("SELECT source_row, row_hash FROM raw.lab_results ORDER BY source_row")
    with duckdb.connect(str(warehouse_path)) as conn:  # as if an older DuckDB had written them
        conn.execute("UPDATE raw.lab_results SET row_hash = row_hash + 1")
        conn.execute("UPDATE audit.loads SET hash_probe = 42")
    with duckdb.connect(str(warehouse_path)) as conn:
        assert loader.refresh_row_hashes(conn) is True
        assert loader.refresh_row_hashes(conn) is False
    assert query("SELECT source_row, row_hash FROM raw.lab_results ORDER BY source_row") == stored


def test_blanks_around_values_are_trimmed_and_blank_means_absent(tmp_path, write, warehouse_path, secret, query):
    path = write(tmp_path / "labs.csv", "patient_id,collected_at,code,value,unit,status\n"
                                        " P1 ,2024-01-01, 2601-3,0.8 , mmol/L,  \n"
                                        "   ,2024-01-01,2601-3,0.8,mmol/L,F\n")
    outcome = ingest_paths(warehouse_path, [path]).files[0]
    assert (outcome.rows_loaded, outcome.rows_quarantined) == (1, 1)
    assert query("SELECT patient_id, code, value_num, unit, status FROM raw.lab_results") == [
        ("P1", "2601-3", 0.8, "mmol/L", "F")]
    assert query("SELECT reason FROM audit.quarantine") == [("missing_patient_id",)]


def test_line_numbers_hold_in_a_file_read_in_parallel(tmp_path, warehouse_path, secret, query):
    # Large enough for DuckDB to read in several parallel chunks; bad rows at known lines.
    bad_lines = {2, 123_457, 250_001, 511_111, 600_001}
    path = tmp_path / "labs.csv"
    with path.open("w") as handle:
        handle.write("patient_id,collected_at,code,value,unit,accession_id\n")
        for line in range(2, 600_002):
            value = "oops" if line in bad_lines else "0.81"
            handle.write(f"P{line % 5000},2024-01-01T10:00:00,2601-3,{value},mmol/L,A{line}\n")
    outcome = ingest_paths(warehouse_path, [path]).files[0]
    assert (outcome.rows_read, outcome.rows_quarantined) == (600_000, 5)
    assert {r[0] for r in query("SELECT source_row FROM audit.quarantine")} == bad_lines
    mismatched = query("SELECT count(*) FROM raw.lab_results WHERE accession_id <> 'A' || source_row")
    assert mismatched == [(0,)]


@pytest.mark.parametrize("header, row, extra", [
    ("patient_id,collected_at,code,value,unit,", "P1,2024-01-01,2601-3,0.8,mmol/L,", {"column6": None}),
    ("patient_id,collected_at,code,value,unit,note,NOTE", "P1,2024-01-01,2601-3,0.8,mmol/L,a,b",
     {"note": "a", "NOTE_2": "b"}),
    ('patient_id,collected_at,code,value,unit,"ward, bed"', 'P1,2024-01-01,2601-3,0.8,mmol/L,"B4, 2"',
     {"ward, bed": "B4, 2"}),
])
def test_awkward_headers_of_real_exports_still_load(tmp_path, write, warehouse_path, secret, query, header, row, extra):
    # a trailing delimiter, a column sent twice, a quoted name holding the delimiter
    path = write(tmp_path / "in" / "labs.csv", f"{header}\n{row}\n")
    outcome = ingest_paths(warehouse_path, [path]).files[0]
    assert (outcome.status, outcome.rows_loaded) == ("loaded", 1)
    stored = query("SELECT source_row, value_num, extra FROM raw.lab_results")
    assert [(r[0], r[1], json.loads(r[2])) for r in stored] == [(2, 0.8, extra)]


def test_a_registry_column_sent_twice_is_refused_as_ambiguous(tmp_path, write, warehouse_path, secret):
    path = write(tmp_path / "in" / "labs.csv",
                 "patient_id,collected_at,code,value,unit,Value\nP1,2024-01-01,2601-3,0.8,mmol/L,0.9\n")
    outcome = ingest_paths(warehouse_path, [path]).files[0]
    assert outcome.status == "failed"
    assert outcome.message == (f"{path} line 1: the header names column 'value' more than once, "
                               "so which one holds value is ambiguous.")
