"""Migration 0004 (dated menopausal status): the two raw columns come and go, and rows loaded
before it still count a re-delivery as a duplicate, because their content hash (which now
covers the new columns) is recomputed at the next ingest."""
from __future__ import annotations

import duckdb

from etl import warehouse
from etl.ingest.loader import ingest_paths
from etl.ingest.validate import HASH_PROBE

from ..warehouses import rows

PATIENT = "patient_id,sex,birth_date,menopausal_status\nP1,F,1950-02-03,post\n"
COLUMNS = ("SELECT table_name || '.' || column_name FROM information_schema.columns WHERE table_schema = 'raw' "
           "AND column_name IN ('menopausal_status', 'menopausal_status_date') ORDER BY 1")



def test_rows_loaded_before_0004_still_catch_their_redelivery(tmp_path, write, secret, warehouse_path):
    ingest_paths(warehouse_path, [write(tmp_path / "a" / "patients.csv", PATIENT)])
    # The warehouse as the code before 0004 left it: no new columns, hashes over the old columns.
    assert warehouse.downgrade(warehouse_path, "0003_scoring_models") == "0003_scoring_models"
    assert rows(warehouse_path, COLUMNS) == [("patients.menopausal_status",)]
    with duckdb.connect(str(warehouse_path)) as conn:
        conn.execute("UPDATE raw.patients SET row_hash = hash(patient_id, sex, birth_date, menopausal_status, ethnicity)")
        conn.execute(f"UPDATE audit.loads SET hash_probe = {HASH_PROBE}")

    assert warehouse.upgrade(warehouse_path, "0004_dated_menopausal_status") == "0004_dated_menopausal_status"
    assert rows(warehouse_path, COLUMNS) == [("dxa_results.menopausal_status",), ("patients.menopausal_status",),
                                               ("patients.menopausal_status_date",)]
    # other bytes (the same bytes would be skipped whole), the same P1 row
    again = ingest_paths(warehouse_path, [write(tmp_path / "b" / "patients.csv", PATIENT + "P2,M,1960-01-01,\n")])

    assert (again.files[0].rows_loaded, again.files[0].rows_duplicate) == (1, 1)
    assert rows(warehouse_path, "SELECT count(*) FROM raw.patients") == [(2,)]
