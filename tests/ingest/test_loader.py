"""The loader's hardening: one error funnel, malformed lines quarantined, files that hold no data.

Real DuckDB files, real migrations; the inputs are hand-written the way broken exports arrive.
"""
from __future__ import annotations

import codecs

import pytest

from etl.ingest import fhir, loader
from etl.ingest.loader import NOT_DATA, ingest_paths

HEADER = "patient_id,collected_at,code,value,unit,accession_id\n"


def _row(line: int) -> str:
    return f"P{line % 997},2024-01-01T10:00:00,2601-3,0.81,mmol/L,A{line}"


def test_malformed_lines_mid_file_are_quarantined_and_the_rest_keep_their_lines(tmp_path, warehouse_path, secret,
                                                                                 query):
    # Large enough for DuckDB to read in parallel chunks; every kind of broken line in the middle.
    broken = {
        50_001: "P1,2024-01-01T10:00:00,2601-3,0.81",                                  # a field short
        120_000: "P2,2024-01-01T10:00:00,2601-3,0.81,mmol/L,A120000,surplus",          # a field over
        180_555: "P3,2024-01-01T10:00:00,2601-3,0.81,mmol/L,A180555\xff",              # not UTF-8
        240_000: "P4,2024-01-01T10:00:00,2601-3," + "9" * 2_100_000 + ",mmol/L,A240000",  # over 2 MB
    }
    lines = [HEADER.rstrip("\n")]
    for line in range(2, 300_002):
        lines.append(broken.get(line, _row(line)))
    data = "\n".join(lines).encode("utf-8", "surrogateescape") + b"\n"
    data = data.replace("\xff".encode(), b"\xff")
    # A NUL inside a value, and a block of CRLF lines (mixed line endings) in the middle.
    data = data.replace(b",A150000\n", b",A1\x0050000\n")
    start, end = data.index(b",A200000\n"), data.index(b",A200100\n")
    data = data[:start] + data[start:end].replace(b"\n", b"\r\n") + data[end:]
    path = tmp_path / "labs.csv"
    path.write_bytes(data)

    outcome = ingest_paths(warehouse_path, [path]).files[0]
    assert outcome.status == "loaded", outcome.message
    assert (outcome.rows_read, outcome.rows_loaded + outcome.rows_quarantined + outcome.rows_duplicate) == (
        300_000, 300_000)
    assert outcome.rows_quarantined == 4
    got = query("SELECT source_row, reason, field, payload->>'problem' FROM audit.quarantine ORDER BY source_row")
    assert got == [(50_001, "malformed_row", "unit", "missing columns"),
                   (120_000, "malformed_row", None, "too many columns"),
                   (180_555, "malformed_row", "accession_id", "invalid encoding"),
                   (240_000, "malformed_row", None, "line size over maximum")]
    assert query("SELECT payload->>'line' FROM audit.quarantine WHERE source_row = 50001") == [(broken[50_001],)]
    # Every loaded row carries the line it was written on (its accession says which).
    assert query("SELECT count(*) FROM raw.lab_results WHERE accession_id <> 'A' || source_row "
                 "AND source_row <> 150000") == [(0,)]
    assert query("SELECT accession_id, unit FROM raw.lab_results WHERE source_row IN (150000, 200050) ORDER BY source_row") == [
        ("A1\x0050000", "mmol/L"), ("A200050", "mmol/L")]


def test_an_unclosed_quote_near_the_end_quarantines_what_it_swallows(tmp_path, warehouse_path, secret, query):
    rows = [_row(line) for line in range(2, 40)] + ['P9,"2024-01-01,2601-3,0.8,mmol/L,A40'] + [_row(41)]
    path = tmp_path / "labs.csv"
    path.write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    outcome = ingest_paths(warehouse_path, [path]).files[0]
    assert (outcome.status, outcome.rows_loaded, outcome.rows_quarantined) == ("loaded", 38, 1)
    assert query("SELECT source_row, reason FROM audit.quarantine") == [(40, "malformed_row")]
    assert query("SELECT max(source_row) FROM raw.lab_results") == [(39,)]


def test_a_file_mostly_malformed_fails_whole_in_one_sentence(tmp_path, warehouse_path, secret, query, monkeypatch):
    rows = [_row(line) if line % 5 else "P1,2024-01-01,2601-3" for line in range(2, 102)]
    path = tmp_path / "labs.csv"
    path.write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    outcome = ingest_paths(warehouse_path, [path]).files[0]
    assert outcome.status == "failed"
    assert outcome.message == (
        f"{path} line 5: the export cannot be read as a CSV file (20 of 100 rows are malformed, more than the "
        "10% allowed (OSTEOREG_MAX_MALFORMED_SHARE); the first: Expected Number of Columns: 6 Found: 3).")
    assert query("SELECT status, rows_read FROM audit.loads") == [("failed", 0)]
    assert query("SELECT count(*) FROM audit.quarantine") == [(0,)]
    assert query("SELECT count(*) FROM raw.lab_results") == [(0,)]
    # The share is a setting: the same file loads where a quarter may be malformed.
    monkeypatch.setenv("OSTEOREG_MAX_MALFORMED_SHARE", "0.25")
    again = ingest_paths(warehouse_path, [path]).files[0]
    assert (again.status, again.rows_loaded, again.rows_quarantined) == ("loaded", 80, 20)


def test_a_bad_share_setting_is_refused_in_one_sentence(tmp_path, warehouse_path, secret, monkeypatch):
    monkeypatch.setenv("OSTEOREG_MAX_MALFORMED_SHARE", "ten percent")
    with pytest.raises(loader.UsageError, match=r"^OSTEOREG_MAX_MALFORMED_SHARE must be a fraction from 0 to 1"):
        ingest_paths(warehouse_path, [])


def test_utf_16_big_endian_with_its_mark_loads_every_row(tmp_path, warehouse_path, secret, query):
    text = HEADER + "".join(_row(line) + "\r\n" for line in range(2, 391))
    path = tmp_path / "labs.csv"
    path.write_bytes(codecs.BOM_UTF16_BE + text.encode("utf-16-be"))
    outcome = ingest_paths(warehouse_path, [path]).files[0]
    assert (outcome.status, outcome.rows_read, outcome.rows_loaded) == ("loaded", 389, 389)
    assert query("SELECT count(*) FROM raw.lab_results WHERE accession_id = 'A' || source_row") == [(389,)]
    assert not list(tmp_path.glob("osteoreg-*")), "the normalised copy is removed"


@pytest.mark.parametrize("content", [b"", b"   \n\n\t \r\n", b"\xef\xbb\xbf", b"\xef\xbb\xbf\n\n  \n"])
def test_an_empty_or_blank_file_is_one_failed_load(tmp_path, warehouse_path, secret, query, content):
    path = tmp_path / "labs.csv"
    path.write_bytes(content)
    outcome = ingest_paths(warehouse_path, [path]).files[0]
    assert outcome.status == "failed"
    assert outcome.message.startswith(f"{path}") and ("empty" in outcome.message or "no header" in outcome.message)
    assert query("SELECT status FROM audit.loads") == [("failed",)]


def test_any_exception_a_reader_raises_is_one_failed_load_and_the_next_file_loads(
        tmp_path, write, warehouse_path, secret, query, monkeypatch):
    def broken(path, conn):
        raise KeyError("Jane Doe 1961-04-12")  # a defect whose text carries a value from the file

    monkeypatch.setattr(fhir, "read", broken)
    bad = write(tmp_path / "in" / "a.ndjson", '{"resourceType": "Patient", "id": "x"}\n')
    good = write(tmp_path / "in" / "b.csv", HEADER + _row(2) + "\n")
    report = ingest_paths(warehouse_path, [tmp_path / "in"])
    assert [f.status for f in report.files] == ["failed", "loaded"]
    message = report.files[0].message
    assert message.startswith(f"{bad}: the file could not be read: the fhir reader stopped on an unexpected KeyError")
    assert "Jane" not in message and "1961" not in message
    assert query("SELECT source_path, status FROM audit.loads ORDER BY load_id") == [
        (str(bad), "failed"), (str(good), "loaded")]
    assert "Jane" not in str(query("SELECT message FROM audit.loads"))


def test_a_file_that_vanishes_before_its_turn_is_one_failed_load(tmp_path, write, warehouse_path, secret, query,
                                                                  monkeypatch):
    gone = write(tmp_path / "in" / "a.csv", HEADER + _row(2) + "\n")
    kept = write(tmp_path / "in" / "b.csv", HEADER + _row(3) + "\n")
    real_expand = loader.expand

    def expand_then_delete(paths):
        found = real_expand(paths)
        gone.unlink()
        return found

    monkeypatch.setattr(loader, "expand", expand_then_delete)
    report = ingest_paths(warehouse_path, [tmp_path / "in"])
    assert [(f.path.name, f.status) for f in report.files] == [("a.csv", "failed"), ("b.csv", "loaded")]
    assert report.files[0].message.startswith(f"{gone}: the file cannot be read")
    assert kept.exists()


def test_a_folder_with_documents_lists_them_as_not_data_and_loads_the_rest(tmp_path, write, warehouse_path, secret,
                                                                           query):
    folder = tmp_path / "exports"
    write(folder / "README.md", "# Exports from the lab\nSent monthly.\n")
    write(folder / "notes.txt", "Call the lab before the 5th.\n")
    (folder / "agreement.pdf").write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n")
    (folder / "scan.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    (folder / "letter.docx").write_bytes(b"PK\x03\x04\x14\x00\x06\x00")
    write(folder / "bulk" / "export.json", '{"transactionTime": "2024-03-05T10:00:00Z", "request": '
          '"https://fhir.example.org/$export", "requiresAccessToken": true, "output": '
          '[{"type": "Patient", "url": "Patient.ndjson"}], "error": []}')
    write(folder / "labs.txt", HEADER + _row(2) + "\n")                        # a .txt that is an export
    write(folder / "feed.txt", "MSH|^~\\&|LAB|H|REG|H|20240305||ORU^R01|1|P|2.5\r")  # and one that is HL7
    write(folder / "labs.csv", HEADER + _row(3) + "\n")
    report = ingest_paths(warehouse_path, [folder])
    by_name = {f.path.name: (f.status, f.message) for f in report.files}
    for name in ("README.md", "notes.txt", "agreement.pdf", "scan.png", "letter.docx", "export.json"):
        assert by_name[name] == ("skipped", NOT_DATA), name
    assert by_name["labs.txt"][0] == by_name["labs.csv"][0] == "loaded"
    assert by_name["feed.txt"][0] != "skipped"          # read as HL7 (loaded or failed, never passed over)
    assert not report.failed or [f.path.name for f in report.failed] == ["feed.txt"]
    # Documents are not loads: the ledger holds only the files that were read.
    assert {r[0].rsplit("/", 1)[-1] for r in query("SELECT source_path FROM audit.loads")} <= {
        "labs.txt", "labs.csv", "feed.txt"}


def test_a_document_named_explicitly_is_still_read(tmp_path, write, warehouse_path, secret):
    readme = write(tmp_path / "README.md", "# not an export\n")
    outcome = ingest_paths(warehouse_path, [readme]).files[0]
    assert outcome.status == "failed"
    assert outcome.message.startswith(f"{readme} line 1: the header (1 column, none of them a registry column)")


def test_ingest_of_a_folder_with_a_readme_exits_0_and_counts_it_as_not_data(tmp_path, write, warehouse_path):
    import os
    import subprocess
    import sys

    write(tmp_path / "exports" / "README.md", "# [bold]Exports[/bold]\nSent monthly.\n")
    write(tmp_path / "exports" / "labs.csv", HEADER + _row(2) + "\n")
    env = {**os.environ, "OSTEOREG_SECRET": "cli-secret-of-at-least-32-characters", "COLUMNS": "200"}
    done = subprocess.run([sys.executable, "-m", "etl.cli", "ingest", "-w", str(warehouse_path),
                           str(tmp_path / "exports")], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    out = " ".join(done.stdout.split())
    assert "skipped README.md: not a data file" in out
    assert "2 file(s): 1 loaded, 0 skipped (already loaded), 1 not data, 0 failed." in out
