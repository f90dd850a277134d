"""The synthetic cohort through `ingest`: every file's counts equal what the generator wrote into it."""
from __future__ import annotations

import json
from collections import Counter

from etl.ingest.loader import ingest_paths
from etl.synth.flat import write_flat


def test_ingest_accounts_for_every_generated_row(tmp_path, warehouse_path, secret, query):
    folder = tmp_path / "cohort"
    write_flat(folder, n_patients=400, seed=7, lab_files=2, formats=("csv", "tsv", "parquet"))
    manifest = json.loads((folder / "manifest.json").read_text())
    report = ingest_paths(warehouse_path, [folder])

    got = {f.path.name: (f.format, f.rows_read, f.rows_loaded, f.rows_quarantined, f.rows_duplicate)
           for f in report.files}
    expected = {f["path"]: (f["format"], f["rows_written"], f["rows_loaded"], f["rows_quarantined"],
                            f["rows_duplicate"]) for f in manifest["files"]}
    assert got == expected
    assert {"csv", "tsv", "parquet"} <= {fmt for fmt, *_ in got.values()}

    reasons = Counter()
    for entry in manifest["files"]:
        reasons.update(entry["quarantine_by_reason"])
    assert dict(query("SELECT reason, count(*) FROM audit.quarantine GROUP BY reason")) == dict(reasons)
    assert query("SELECT count(*) FROM identity.patient_map") == [(400,)]

    again = ingest_paths(warehouse_path, [folder])
    assert {f.status for f in again.files} == {"skipped"}
