"""Source profiles: a hospital's own layout, and the built-in Synthea profile on real Synthea files."""
from __future__ import annotations

from datetime import date, datetime

import pytest

from etl.errors import InputError
from etl.ingest.loader import ingest_paths
from etl.ingest.profiles import load_profile

PROFILE = """
name: st-elsewhere-lis
description: Lab system export of St Elsewhere (semicolon separated, German headers)
delimiter: ";"
kinds:
  patients:
    match: [PatNr, Geschlecht, Geburtsdatum]
    columns:
      patient_id: PatNr
      sex: Geschlecht
      birth_date: Geburtsdatum
    values:
      sex: {"1": M, "2": F}
    date_formats: ["%d.%m.%Y"]
  labs:
    match: [PatNr, Entnahme, Analyt, Ergebnis]
    columns:
      patient_id: PatNr
      collected_at: Entnahme
      code: Analyt
      value: Ergebnis
      unit: Einheit
      accession_id: Auftrag
    constants:
      code_system: LOCAL
    date_formats: ["%d.%m.%Y %H:%M"]
local_codes:
  MG: {loinc: "19123-9", unit: mg/dL}
  CA: {loinc: "2000-8"}
  VD25: "14635-7"
default_units:
  "2000-8": mmol/L
"""


@pytest.fixture
def profile_file(tmp_path, write):
    return write(tmp_path / "st_elsewhere.yaml", PROFILE)


def test_hospital_profile_maps_headers_dates_codes_and_units(tmp_path, write, profile_file, warehouse_path,
                                                             secret, query):
    folder = tmp_path / "lis"
    write(folder / "pat.csv", "PatNr;Geschlecht;Geburtsdatum;Station\n100;2;03.02.1950;B4\n101;1;24.12.1949;C1\n")
    write(folder / "lab.csv", "PatNr;Entnahme;Analyt;Ergebnis;Einheit;Auftrag\n"
                              "100;05.03.2024 08:30;MG;1,9;;O-1\n"       # unit from the local code
                              "100;05.03.2024 08:30;CA;2,31;;O-1\n"      # unit from default_units
                              "100;05.03.2024 08:30;VD25;48;nmol/l;O-1\n"
                              "100;05.03.2024 08:30;NA;140;mmol/L;O-1\n"  # a local code we do not track
                              "101;31.02.2024 08:30;MG;1,9;;O-2\n")      # an impossible date
    report = ingest_paths(warehouse_path, [folder], profile_path=profile_file)
    assert [(f.kind, f.profile, f.rows_loaded, f.rows_quarantined, f.rows_untracked) for f in report.files] == [
        ("labs", "st-elsewhere-lis", 4, 1, 1),
        ("patients", "st-elsewhere-lis", 2, 0, 0),
    ]
    assert query("SELECT patient_id, sex, birth_date, extra->>'Station' FROM raw.patients ORDER BY 1") == [
        ("100", "F", date(1950, 2, 3), "B4"), ("101", "M", date(1949, 12, 24), "C1")]
    assert query("""SELECT code, code_system, loinc_code, value_num, unit, collected_at, is_tracked
                    FROM raw.lab_results ORDER BY code""") == [
        ("CA", "LOCAL", "2000-8", 2.31, "mmol/L", datetime(2024, 3, 5, 8, 30), True),
        ("MG", "LOCAL", "19123-9", 1.9, "mg/dL", datetime(2024, 3, 5, 8, 30), True),
        ("NA", "LOCAL", None, 140.0, "mmol/L", datetime(2024, 3, 5, 8, 30), False),
        ("VD25", "LOCAL", "14635-7", 48.0, "nmol/l", datetime(2024, 3, 5, 8, 30), True),
    ]
    assert query("SELECT reason, field, payload->>'collected_at' FROM audit.quarantine") == [
        ("invalid_date", "collected_at", "31.02.2024 08:30")]


def test_without_the_profile_the_export_is_not_recognised(tmp_path, write, warehouse_path, secret):
    path = write(tmp_path / "lab.csv", "PatNr;Entnahme;Analyt;Ergebnis\n100;05.03.2024 08:30;MG;1,9\n")
    outcome = ingest_paths(warehouse_path, [path]).files[0]
    assert outcome.status == "failed" and "name one with --profile" in outcome.message


def test_profile_mistakes_are_one_sentence(tmp_path, write):
    bad = write(tmp_path / "bad.yaml", "kinds:\n  labs:\n    columns:\n      patient_id: A\n")
    with pytest.raises(InputError, match="no source for required labs column"):
        load_profile(bad)
    unknown = write(tmp_path / "unknown.yaml", "kinds:\n  vitals: {}\n")
    with pytest.raises(InputError, match="unknown kind `vitals`"):
        load_profile(unknown)


def test_synthea_export_loads_without_options(external, warehouse_path, secret, query):
    report = ingest_paths(warehouse_path, [external / "dbt-synthea"])
    outcomes = {f.path.name: f for f in report.files}
    patients, observations = outcomes["patients.csv"], outcomes["observations.csv"]
    assert (patients.profile, patients.kind, patients.rows_read, patients.rows_loaded) == ("synthea", "patients", 27, 27)
    assert (observations.profile, observations.kind, observations.rows_read) == ("synthea", "labs", 990)
    assert observations.rows_read == observations.rows_loaded + observations.rows_quarantined + observations.rows_duplicate
    assert query("SELECT sex, count(*) FROM raw.patients GROUP BY sex ORDER BY sex") == [("F", 13), ("M", 14)]
    # Tracked analytes per the fixture's README: calcium 49765-1 (10), albumin 1751-7 (3), ALP 6768-6 (3).
    tracked = query("""SELECT loinc_code, count(*) FROM raw.lab_results WHERE is_tracked
                       GROUP BY loinc_code ORDER BY loinc_code""")
    assert tracked == [("1751-7", 3), ("49765-1", 10), ("6768-6", 3)]
    calcium = query("""SELECT collected_at::DATE, value_num, unit FROM raw.lab_results
                       WHERE patient_id = '5f8d3e13-bc80-dd66-0f1b-d24f9692a697' AND loinc_code = '49765-1'
                       ORDER BY collected_at""")
    assert [v for _, v, _ in calcium] == [9.0, 9.6, 9.3, 8.8] and {u for *_, u in calcium} == {"mg/dL"}
    # PHI columns stay in raw, as extra JSON, not as warehouse columns.
    assert query("SELECT count(*) FROM raw.patients WHERE extra->>'SSN' IS NOT NULL") == [(27,)]
    assert query("SELECT count(*) FROM identity.patient_map") == [(27,)]


def test_a_profile_file_sent_again_under_another_name_is_skipped_without_the_profile(
        tmp_path, write, profile_file, warehouse_path, secret, query):
    # The skip is decided by the bytes, so a copy that would not load on its own (no profile
    # named) is still recognised as the load it repeats, not reported as a failure.
    first = write(tmp_path / "in" / "pat.csv", "PatNr;Geschlecht;Geburtsdatum\n100;2;03.02.1950\n")
    ingest_paths(warehouse_path, [first], profile_path=profile_file)
    copy = write(tmp_path / "again" / "pat_resent.csv", first.read_text())
    outcome = ingest_paths(warehouse_path, [copy]).files[0]
    assert (outcome.status, outcome.message, outcome.load_id) == ("skipped", "already loaded as load 1", 1)
    assert query("SELECT count(*), count(*) FILTER (WHERE status = 'failed') FROM audit.loads") == [(1, 0)]


LATIN_PROFILE = """
name: latin-lis
encoding: ISO-8859-1
delimiter: ";"
kinds:
  labs:
    match: [PatNr, Entnahme, Analyt, Ergebnis, Größe]
    columns: {patient_id: PatNr, collected_at: Entnahme, code: Analyt, value: Ergebnis, unit: Einheit}
"""


def test_a_latin_1_export_loads_through_its_profile(tmp_path, write, warehouse_path, secret, query):
    profile = write(tmp_path / "latin.yaml", LATIN_PROFILE)
    export = tmp_path / "in" / "lis.csv"
    export.parent.mkdir()
    export.write_bytes("PatNr;Entnahme;Analyt;Ergebnis;Einheit;Größe;Bemerkung\n"
                       "100;2024-03-05;19123-9;1,9;mg/dL;170;hämolytisch\n".encode("latin-1"))
    outcome = ingest_paths(warehouse_path, [export], profile_path=profile).files[0]
    assert (outcome.status, outcome.profile, outcome.rows_loaded) == ("loaded", "latin-lis", 1)
    assert query("SELECT value_num, unit, extra->>'Bemerkung', extra->>'Größe' FROM raw.lab_results") == [
        (1.9, "mg/dL", "hämolytisch", "170")]


@pytest.mark.parametrize("named", [True, False])
def test_a_utf_16_canonical_export_loads_by_its_byte_order_mark_or_a_profile_naming_it(
        tmp_path, write, warehouse_path, secret, query, named):
    profile = write(tmp_path / "utf16.yaml", "name: utf16-export\nencoding: utf-16\nkinds: {}\n") if named else None
    export = tmp_path / "in" / "labs.csv"
    export.parent.mkdir()
    export.write_bytes("patient_id,collected_at,code,value,unit,name\n"
                       "P1,2024-03-05,2601-3,0.71,mmol/L,Magnésium\n".encode("utf-16"))
    outcome = ingest_paths(warehouse_path, [export], profile_path=profile).files[0]
    assert (outcome.status, outcome.rows_loaded) == ("loaded", 1)
    assert query("SELECT source_row, value_num, name FROM raw.lab_results") == [(2, 0.71, "Magnésium")]


def test_a_file_that_is_not_utf_8_is_refused_with_the_way_out(tmp_path, warehouse_path, secret):
    export = tmp_path / "in" / "labs.csv"
    export.parent.mkdir()
    export.write_bytes("patient_id,collected_at,code,value,unit,name\n"
                       "P1,2024-03-05,2601-3,0.71,mmol/L,Magnésium\n".encode("latin-1"))
    outcome = ingest_paths(warehouse_path, [export]).files[0]
    assert outcome.status == "failed"
    assert outcome.message.startswith(f"{export} line 2: the export cannot be read as a CSV file")
    assert outcome.message.endswith("name its encoding in a source profile, e.g. `encoding: latin-1`.")


def test_an_encoding_duckdb_cannot_read_is_refused_in_the_profile(tmp_path, write):
    profile = write(tmp_path / "cp.yaml", "name: cp\nencoding: windows-1252\nkinds: {}\n")
    with pytest.raises(InputError, match=r"`encoding` 'windows-1252' is not one of utf-8, utf-16, latin-1\."):
        load_profile(profile)
