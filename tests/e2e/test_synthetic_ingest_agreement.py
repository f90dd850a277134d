"""The registry's own ingest, on a real warehouse, makes of the exports what the manifest says."""
from __future__ import annotations

from etl import warehouse
from etl.ingest.loader import ingest_paths
from etl.synth.flat import write_flat

from etl.synth.flat import FORMATS as ALL_FORMATS


def test_ingest_counts_equal_the_manifest(tmp_path):
    manifest = write_flat(tmp_path / "input", 300, lab_files=2, formats=ALL_FORMATS)
    report = ingest_paths(tmp_path / "wh.duckdb", [tmp_path / "input"])
    got = {o.path.name: (o.status, o.rows_read, o.rows_loaded, o.rows_quarantined, o.rows_duplicate)
           for o in report.files}
    want = {f.path: ("loaded", f.rows_written, f.rows_loaded, f.rows_quarantined, f.rows_duplicate)
            for f in manifest.files}
    assert got == want
    with warehouse.session(tmp_path / "wh.duckdb", read_only=True) as conn:
        reasons = dict(conn.execute("SELECT reason, count(*) FROM audit.quarantine GROUP BY reason").fetchall())
        statuses = dict(conn.execute("SELECT status, count(*) FROM raw.lab_results GROUP BY status").fetchall())
        keys = conn.execute("SELECT count(*) FROM identity.patient_map WHERE patient_id LIKE 'P%'").fetchall()[0][0]
    assert reasons == manifest.quarantine_by_reason()
    assert statuses == manifest.expected["lab_rows_loaded_by_status"]
    assert keys == manifest.expected["patients"]
