"""The flat exports: deterministic bytes, contract headers, and a manifest that states their content.

Counts are re-derived from the files with DuckDB alone (not from the generator's role columns),
so a manifest that drifted from what was written fails here.
"""
from __future__ import annotations

import hashlib
import json

import duckdb
import pytest

from etl.errors import UsageError
from etl.paths import SEEDS_DIR
from etl.synth.cohort import HEADERS, generate
from etl.synth.flat import write_flat
from etl.synth.manifest import Manifest

from .conftest import ALL_FORMATS


def _digests(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def _source(path):
    if path.suffix == ".parquet":
        return f"(SELECT * EXCLUDE (file_row_number), file_row_number AS rn FROM read_parquet('{path}', file_row_number = true))"
    delimiter = "\t" if path.suffix == ".tsv" else ","
    return (f"(SELECT *, row_number() OVER () AS rn FROM read_csv('{path}', header = true, all_varchar = true, "
            f"delim = '{delimiter}', quote = '\"', escape = '\"', auto_detect = false, "
            f"columns = {{{', '.join(repr(c) + ': ' + repr('VARCHAR') for c in HEADERS[_kind(path)])}}}))")


def _kind(path):
    name = path.name
    return "labs" if name.startswith("labs") else name.split(".")[0]


def test_same_seed_gives_identical_bytes_and_another_seed_does_not(tmp_path):
    first = write_flat(tmp_path / "a", 150, lab_files=2, formats=ALL_FORMATS)
    write_flat(tmp_path / "b", 150, lab_files=2, formats=ALL_FORMATS)
    write_flat(tmp_path / "c", 150, seed=7, lab_files=2, formats=ALL_FORMATS)
    a, b, c = _digests(tmp_path / "a"), _digests(tmp_path / "b"), _digests(tmp_path / "c")
    assert a == b
    assert set(a) == {"dxa.tsv", "fractures.csv", "labs_1.csv", "labs_2.parquet", "labs_overlap.csv",
                      "manifest.json", "patients.csv"}
    assert all(a[name] != c[name] for name in a)
    assert first.total("rows_written") == sum(f.rows_written for f in Manifest.load(tmp_path / "a/manifest.json").files)


def test_in_memory_cohort_is_deterministic():
    one, two = generate(120, seed=5), generate(120, seed=5)
    assert one.labs.equals(two.labs) and one.dxa.equals(two.dxa) and one.truth.equals(two.truth)
    assert not one.labs.equals(generate(120, seed=6).labs)


def test_headers_are_the_contract_columns(messy_export):
    out, manifest = messy_export
    for entry in manifest.files:
        path = out / entry.path
        if entry.format == "parquet":
            names = duckdb.sql(f"DESCRIBE SELECT * FROM read_parquet('{path}')").fetchall()
            assert [n[0] for n in names] == HEADERS[entry.kind]
        else:
            first = path.read_text(encoding="utf-8").split("\n", 1)[0]
            assert first == ("\t" if entry.format == "tsv" else ",").join(HEADERS[entry.kind])
    assert HEADERS["labs"] == ["patient_id", "collected_at", "code", "code_system", "name", "value", "unit",
                               "reference_range", "abnormal_flag", "status", "accession_id"]


def test_rows_written_and_within_file_duplicates_match_the_files(messy_export):
    out, manifest = messy_export
    for entry in manifest.files:
        source = _source(out / entry.path)
        columns = ", ".join(HEADERS[entry.kind])
        total, distinct = duckdb.sql(
            f"SELECT count(*), (SELECT count(*) FROM (SELECT DISTINCT {columns} FROM {source})) FROM {source}"
        ).fetchall()[0]
        assert total == entry.rows_written, entry.path
        if entry.path != "labs_overlap.csv":
            assert total - distinct == entry.rows_duplicate, entry.path
        assert entry.rows_written == entry.rows_loaded + entry.rows_quarantined + entry.rows_duplicate


def test_overlap_rows_are_all_copies_of_main_lab_rows(messy_export):
    out, manifest = messy_export
    parts = " UNION ALL ".join(f"SELECT {', '.join(HEADERS['labs'])} FROM {_source(out / f.path)}"
                               for f in manifest.files if f.kind == "labs" and f.path != "labs_overlap.csv")
    overlap = f"SELECT {', '.join(HEADERS['labs'])} FROM {_source(out / 'labs_overlap.csv')}"
    missing = duckdb.sql(f"SELECT count(*) FROM ({overlap} EXCEPT ALL ({parts}))").fetchall()[0][0]
    entry = next(f for f in manifest.files if f.path == "labs_overlap.csv")
    assert missing == 0
    assert entry.rows_duplicate == entry.rows_written > 0


def _lab_checks(path) -> str:
    """Each lab row with the quarantine reason the contract gives it, from the file and seeds only."""
    seeds = SEEDS_DIR
    return f"""
        WITH rows AS (SELECT * FROM {_source(path)}),
        units AS (
            SELECT lower(unit_alias) AS spelling, unit FROM read_csv('{seeds}/unit_aliases.csv', all_varchar = true)
            UNION SELECT lower(unit), unit FROM read_csv('{seeds}/unit_conversions.csv', all_varchar = true)),
        conversions AS (SELECT analyte, unit, CAST(factor_to_si AS DOUBLE) AS factor
                        FROM read_csv('{seeds}/unit_conversions.csv', all_varchar = true)),
        codes AS (SELECT loinc_code, analyte FROM read_csv('{seeds}/analyte_codes.csv', all_varchar = true)),
        typed AS (
            SELECT rows.*, codes.analyte,
                   TRY_CAST(replace(regexp_replace(value, '^[<>]', ''), ',', '.') AS DOUBLE) AS number,
                   conversions.factor
            FROM rows
            LEFT JOIN codes ON codes.loinc_code = rows.code
            LEFT JOIN units ON units.spelling = lower(rows.unit)
            LEFT JOIN conversions ON conversions.analyte = codes.analyte AND conversions.unit = units.unit)
        SELECT *, CASE
            WHEN patient_id IS NULL THEN 'missing_patient_id'
            WHEN TRY_CAST(regexp_replace(collected_at, '[+-][0-9]{{2}}:[0-9]{{2}}$', '') AS TIMESTAMP) IS NULL
                THEN 'invalid_date'
            WHEN value IS NOT NULL AND number IS NULL THEN 'invalid_number'
            WHEN number IS NOT NULL AND factor IS NULL THEN 'unknown_unit'
        END AS reason
        FROM typed"""


def test_quarantine_counts_match_the_files(messy_export):
    out, manifest = messy_export
    seen = {}
    for entry in manifest.files:
        path = out / entry.path
        if entry.kind == "labs":
            query = f"SELECT reason, count(*) FROM ({_lab_checks(path)}) WHERE reason IS NOT NULL GROUP BY reason"
        elif entry.kind == "patients":
            query = (f"SELECT CASE WHEN patient_id IS NULL THEN 'missing_patient_id' ELSE 'invalid_date' END, count(*) "
                     f"FROM {_source(path)} WHERE patient_id IS NULL OR TRY_CAST(birth_date AS DATE) IS NULL GROUP BY 1")
        elif entry.kind == "fractures":
            query = f"SELECT 'invalid_date', count(*) FROM {_source(path)} WHERE TRY_CAST(fracture_date AS DATE) IS NULL"
        else:
            sites = f"SELECT site FROM read_csv('{SEEDS_DIR}/dxa_codes.csv', all_varchar = true)"
            query = f"SELECT 'invalid_site', count(*) FROM {_source(path)} WHERE site NOT IN ({sites})"
        found = {reason: n for reason, n in duckdb.sql(query).fetchall() if n}
        assert found == entry.quarantine_by_reason, entry.path
        assert sum(found.values()) == entry.rows_quarantined
        for reason, n in found.items():
            seen[reason] = seen.get(reason, 0) + n
    assert seen == manifest.quarantine_by_reason()
    assert set(seen) == {"missing_patient_id", "invalid_date", "invalid_number", "unknown_unit", "invalid_site"}


def test_current_final_results_per_analyte_match_the_files(messy_export):
    """The last version of each result (accession + code) decides: F/C/A current, D/X/P not."""
    out, manifest = messy_export
    per_file = []
    for entry in manifest.files:
        if entry.kind == "labs" and entry.path != "labs_overlap.csv":
            per_file.append(f"""
                SELECT analyte, arg_max(status, rn) AS last_status
                FROM ({_lab_checks(out / entry.path)}) WHERE reason IS NULL
                GROUP BY patient_id, accession_id, code, analyte""")
    rows = duckdb.sql(f"""
        SELECT analyte, count(*) FILTER (WHERE last_status IN ('F', 'C', 'A'))
        FROM ({' UNION ALL '.join(per_file)}) GROUP BY analyte""").fetchall()
    assert dict(rows) == manifest.expected["current_final_results"]
    assert manifest.expected["current_final_results_total"] == sum(dict(rows).values())


def test_mixed_units_spellings_and_statuses_are_present(messy_export):
    _, manifest = messy_export
    by_unit = manifest.expected["current_final_results_by_unit"]
    assert {"magnesium|mmol/L", "magnesium|mg/dL", "magnesium|mEq/L", "vitamin_d_25oh|ng/mL",
            "vitamin_d_25oh|nmol/L", "pth|pmol/L", "calcium|mg/dL"} <= set(by_unit)
    statuses = manifest.expected["lab_rows_loaded_by_status"]
    assert {"F", "C", "A", "P", "D", "X"} == set(statuses)
    mess = manifest.messiness
    assert mess["decimal_comma_values_loaded"] > 0 and mess["timestamps_with_offset_loaded"] > 0
    assert {"mg/dl", "MMOL/L", "µg/l"} & set(mess["unit_spellings_loaded"])
    assert {"female", "Male", "male", "FEMALE"} & set(mess["sex_spellings"])


def test_clean_cohort_has_no_mess(tmp_path):
    manifest = write_flat(tmp_path, 200, messy=False)
    assert [f.path for f in manifest.files] == ["dxa.csv", "fractures.csv", "labs.csv", "patients.csv"]
    assert all(f.rows_quarantined == 0 and f.rows_duplicate == 0 and f.rows_loaded == f.rows_written
               for f in manifest.files)
    labs = _source(tmp_path / "labs.csv")
    statuses, units_per_code, commas, offsets = duckdb.sql(f"""
        SELECT list(DISTINCT status), max(n_units), count(*) FILTER (WHERE value LIKE '%,%'),
               count(*) FILTER (WHERE length(collected_at) > 19)
        FROM {labs}, (SELECT max(c) AS n_units FROM (SELECT code, count(DISTINCT unit) AS c FROM {labs} GROUP BY code))
    """).fetchall()[0]
    assert statuses == ["F"] and units_per_code == 1 and commas == 0 and offsets == 0
    sexes = duckdb.sql(f"SELECT list(DISTINCT sex ORDER BY sex) FROM {_source(tmp_path / 'patients.csv')}").fetchall()[0][0]
    assert sexes == ["F", "M"]


def test_tiny_cohort_still_exercises_every_quarantine_reason(tmp_path):
    manifest = write_flat(tmp_path, 60)
    reasons = {f.kind: set(f.quarantine_by_reason) for f in manifest.files if f.quarantine_by_reason}
    assert reasons["labs"] == {"missing_patient_id", "invalid_date", "invalid_number", "unknown_unit"}
    assert reasons["patients"] == {"missing_patient_id", "invalid_date"}
    assert reasons["dxa"] == {"invalid_site"}


def test_rewriting_a_folder_removes_the_previous_run_files(tmp_path):
    write_flat(tmp_path, 80, lab_files=3, formats=("csv", "parquet"))
    assert (tmp_path / "labs_3.parquet").exists()
    manifest = write_flat(tmp_path, 80)
    on_disk = sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("."))
    assert on_disk == sorted([f.path for f in manifest.files] + ["manifest.json"])
    assert not (tmp_path / "labs_1.csv").exists()


def test_manifest_round_trips_with_inline_truth(messy_export):
    out, manifest = messy_export
    loaded = Manifest.load(out / "manifest.json")
    assert loaded.files == manifest.files and loaded.expected == manifest.expected
    truth = loaded.truth_assessments()
    assert truth.num_rows == manifest.expected["assessments"] == loaded.truth["n_assessments"]
    assert truth["p_true"].to_pylist() == manifest.truth_assessments()["p_true"].to_pylist()
    assert json.loads((out / "manifest.json").read_text())["truth"]["b0"] == loaded.truth["b0"]
    assert [p.name for p in loaded.input_paths] == [f.path for f in manifest.files]


@pytest.mark.parametrize("formats", [("tsv",), ("csv", "xlsx")])
def test_unknown_formats_are_refused(tmp_path, formats):
    with pytest.raises(UsageError, match="formats"):
        write_flat(tmp_path, 10, formats=formats)


def test_in_memory_expectations_equal_the_written_manifest(tmp_path):
    manifest = write_flat(tmp_path, 150, lab_files=1)
    expected = generate(150).expected()
    assert expected == {k: v for k, v in manifest.expected.items() if k != "rows_duplicate_overlap"}
