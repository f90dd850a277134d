"""PHI stays in `raw` and `identity`: a cohort built to carry identifiers, names and birth dates in
every field, file name and resource id, through the whole pipeline, and every published artefact
(snapshot, report and its CSVs, data dictionary, Data Docs) scanned for every one of them.

The cohort is the synthetic flat export with its ids replaced by record numbers that spell the
patient's name and birth date, names and addresses added as extra columns, per-patient lab files
named after the patient, a Bulk-FHIR file whose Patient and Observation ids carry the record
number, a malformed line and a failed file holding a name and a birth date, and two rows edited
in `raw` so that quality checks fail on a birth date and on a name (the Data Docs must not show them).
"""
from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import duckdb
import pytest

from etl.build import build
from etl.ingest.loader import ingest_paths
from etl.publish import publish, snapshot_path
from etl.quality.runner import run_checks
from etl.report import write_report
from etl.docs import dictionary_path
from etl.scoring.runner import score
from etl.synth.flat import write_flat

pytestmark = pytest.mark.slow


def _cohort(folder: Path) -> dict[str, set[str]]:
    """Write the exports; returns the PHI they carry: ids, names, birth dates, file-name stems."""
    source = folder.parent / "synthetic"
    write_flat(source, n_patients=80, seed=19, messy=False)
    with (source / "patients.csv").open() as handle:
        patients = list(csv.DictReader(handle))
    phi: dict[str, set[str]] = {"ids": set(), "names": set(), "birth_dates": set(), "file_names": set()}
    new_id = {}
    for n, row in enumerate(patients):
        first, last = f"Zebedee{n:03d}", f"Quixote{n:03d}"
        mrn = f"MRN{n:04d}-{last.upper()}-{row['birth_date'].replace('-', '')}"
        new_id[row["patient_id"]] = mrn
        phi["ids"].add(mrn)
        phi["names"] |= {first, last}
        phi["birth_dates"].add(row["birth_date"])
    folder.mkdir(parents=True)
    with (folder / "patients.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["patient_id", "sex", "birth_date", "menopausal_status", "ethnicity", "first_name",
                         "last_name", "address"])
        for n, row in enumerate(patients):
            writer.writerow([new_id[row["patient_id"]], row["sex"], row["birth_date"], row["menopausal_status"],
                             f"Quixote{n:03d}", f"Zebedee{n:03d}", f"Quixote{n:03d}", f"1 Quixote{n:03d} Lane"])
    for kind in ("dxa", "fractures", "labs"):
        with (source / f"{kind}.csv").open() as handle:
            reader = csv.DictReader(handle)
            rows = list(reader)
            header = reader.fieldnames
        by_patient: dict[str, list[dict]] = {}
        for row in rows:
            row["patient_id"] = new_id[row["patient_id"]]
            for name in ("accession_id", "manufacturer"):
                if name in row:
                    row[name] = f"{row['patient_id']}-{row[name]}"
            by_patient.setdefault(row["patient_id"], []).append(row)
        # Labs arrive one file per patient, named after the patient (as some senders do).
        groups = by_patient.items() if kind == "labs" else [("", rows)]
        for mrn, group in groups:
            name = f"{mrn}_{kind}.csv" if mrn else f"{kind}.csv"
            if mrn:
                phi["file_names"].add(mrn)
            with (folder / name).open("w", newline="") as handle:
                writer = csv.DictWriter(handle, fieldnames=header)
                writer.writeheader()
                writer.writerows(group)
    # A Bulk-FHIR file whose resource ids carry the record number and the name.
    mrn = sorted(phi["ids"])[0]
    resources = [{"resourceType": "Patient", "id": f"pt-{mrn}", "gender": "female", "birthDate": "1931-05-17",
                  "name": [{"family": "Quixote999", "given": ["Zebedee999"]}],
                  "identifier": [{"system": "urn:oid:1.2.3", "value": "MRN9999-QUIXOTE999-19310517",
                                  "type": {"coding": [{"code": "MR"}]}}]}]
    resources += [{"resourceType": "Observation", "id": f"obs-MRN9999-QUIXOTE999-{i}", "status": "final",
                   "code": {"coding": [{"system": "http://loinc.org", "code": "2601-3"}]},
                   "subject": {"reference": f"Patient/pt-{mrn}"}, "effectiveDateTime": f"2024-03-0{i + 1}T08:00:00Z",
                   "valueQuantity": {"value": 0.7 + i / 100, "unit": "mmol/L", "code": "mmol/L"}} for i in range(3)]
    (folder / "MRN9999-QUIXOTE999_bulk.ndjson").write_text("".join(json.dumps(r) + "\n" for r in resources))
    phi["ids"] |= {"MRN9999-QUIXOTE999-19310517", f"pt-{mrn}", "obs-MRN9999-QUIXOTE999"}
    phi["names"] |= {"Quixote999", "Zebedee999"}
    phi["birth_dates"].add("1931-05-17")
    phi["file_names"].add("MRN9999-QUIXOTE999")
    # A file that fails (no header: its first line is a patient's row) and a malformed line.
    (folder / "MRN9998-QUIXOTE998_misc.csv").write_text("MRN9998-QUIXOTE998-19420101,Zebedee998,1942-01-01\n")
    with (folder / "patients.csv").open("a") as handle:
        handle.write("MRN9997-QUIXOTE997-19330303,F,1933-03-03,post,Quixote997,Zebedee997\n")  # a field short
    phi["ids"] |= {"MRN9998-QUIXOTE998-19420101", "MRN9997-QUIXOTE997-19330303"}
    phi["names"] |= {"Zebedee998", "Zebedee997", "Quixote997"}
    phi["birth_dates"] |= {"1942-01-01", "1933-03-03"}
    phi["file_names"].add("MRN9998-QUIXOTE998")
    return phi


def _snapshot_text(path: Path) -> str:
    parts = []
    with duckdb.connect(str(path), read_only=True) as conn:
        for schema, table in conn.execute("SELECT table_schema, table_name FROM information_schema.tables").fetchall():
            parts.append(repr(conn.execute(f'SELECT * FROM {schema}."{table}"').fetchall()))
    return "\n".join(parts)


def _files_text(folder: Path) -> str:
    return "\n".join(p.read_bytes().decode("utf-8", "replace") for p in sorted(folder.rglob("*")) if p.is_file())


def _found(text: str, phi: dict[str, set[str]]) -> dict[str, list[str]]:
    lowered = text.lower()
    return {kind: sorted(v for v in values if v.lower() in lowered) for kind, values in phi.items()
            if any(v.lower() in lowered for v in values)}


def test_no_published_artefact_holds_an_identifier_a_name_or_a_birth_date(tmp_path, monkeypatch):
    monkeypatch.setenv("OSTEOREG_SECRET", "phi-scan-secret-of-enough-length")
    monkeypatch.setenv("OSTEOREG_PUBLISHED_PATHS", "hash")
    exports = tmp_path / "St Elsewhere exports for Quixote000" / "in"
    phi = _cohort(exports)
    path = tmp_path / "wh" / "osteoreg.duckdb"
    report = ingest_paths(path, [exports])
    failed = [f for f in report.files if f.status == "failed"]
    assert [f.path.name for f in failed] == ["MRN9998-QUIXOTE998_misc.csv"]
    assert not re.search(r"zebedee|quixote|\d{4}-\d\d-\d\d", failed[0].message.split(": ", 1)[1], re.I)
    assert sum(f.rows_quarantined for f in report.files if f.path.name == "patients.csv") == 1

    build(path, exclude="resource_type:unit_test")
    score(path)
    publish(path)
    written = write_report(path, tmp_path / "report")

    with duckdb.connect(str(path), read_only=True) as conn:   # the ids did reach the restricted layers
        assert conn.execute("SELECT count(*) FROM raw.lab_results WHERE result_id LIKE 'obs-MRN9999%'").fetchall() \
            == [(3,)]
        keyed = conn.execute("SELECT result_id FROM marts.fct_lab_result WHERE result_id IS NOT NULL").fetchall()
    assert len(keyed) == 3 and all(re.fullmatch(r"[0-9a-f]{16}", k) for k, in keyed)

    # Quality checks that fail on a birth date and on a name (rows edited by hand in raw).
    with duckdb.connect(str(path)) as conn:
        conn.execute("UPDATE raw.patients SET birth_date = DATE '2031-07-19' WHERE source_row = 2")
        conn.execute("UPDATE raw.patients SET menopausal_status = 'Zebedee001' WHERE source_row = 3")
    phi["birth_dates"].add("2031-07-19")
    checks = run_checks(path, ["raw_patients"])
    assert checks.critical_failed >= 2 and checks.data_docs_path is not None

    artefacts = {
        "snapshot": _snapshot_text(snapshot_path(path)),
        "data dictionary": dictionary_path(path).read_text(encoding="utf-8"),
        "report and CSVs": _files_text(written.html.parent),
        "Data Docs": _files_text(Path(checks.data_docs_path).parent if Path(checks.data_docs_path).is_file()
                                 else Path(checks.data_docs_path)),
    }
    assert len(written.csvs) > 3 and all(artefacts.values())
    found = {name: hits for name, text in artefacts.items() if (hits := _found(text, phi))}
    assert found == {}
    # What the ledger shows instead of the per-patient file names.
    with duckdb.connect(str(snapshot_path(path)), read_only=True) as conn:
        shown = {p for p, in conn.execute("SELECT source_path FROM audit.loads").fetchall()}
    assert all(re.fullmatch(r"sha256:[0-9a-f]{16}", p) for p in shown)


def test_published_paths_default_to_the_file_name(tmp_path, monkeypatch):
    from etl.publish import _published_column

    monkeypatch.delenv("OSTEOREG_PUBLISHED_PATHS", raising=False)
    with duckdb.connect() as conn:
        conn.execute("CREATE TABLE loads AS SELECT '/srv/St John''s/Quixote/labs.csv' AS source_path, "
                     "'/srv/St John''s/Quixote/labs.csv line 3: broken' AS message")
        select = ", ".join(_published_column("audit", "loads", c) for c in ("source_path", "message"))
        assert conn.execute(f"SELECT {select} FROM loads").fetchall() == [("labs.csv", "labs.csv line 3: broken")]
    monkeypatch.setenv("OSTEOREG_PUBLISHED_PATHS", "everything")
    with pytest.raises(Exception, match="OSTEOREG_PUBLISHED_PATHS must be one of name, hash, full"):
        _published_column("audit", "loads", "source_path")
