"""Migration 0010 (partial birth dates): `raw.patients.birth_date_precision` comes and goes; rows
loaded before it are whole dates (`day`) and still catch their re-delivery, because their content
hash (which now covers the precision) is recomputed at the next ingest; on the way down a partial
birth date has no whole-date form and goes back to empty."""
from __future__ import annotations

import duckdb

from etl import warehouse
from etl.ingest.loader import ingest_paths
from etl.ingest.validate import HASH_PROBE

from ..warehouses import rows

PATIENT = "patient_id,sex,birth_date\nP1,F,1950-02-03\n"
PRECISION = ("SELECT count(*) FROM information_schema.columns WHERE table_schema = 'raw' "
             "AND table_name = 'patients' AND column_name = 'birth_date_precision'")



def test_rows_loaded_before_0010_are_whole_dates_and_catch_their_redelivery(tmp_path, write, secret,
                                                                            warehouse_path):
    ingest_paths(warehouse_path, [write(tmp_path / "a" / "patients.csv", PATIENT)])
    # The warehouse as the code before 0010 left it: no precision, hashes over the old columns.
    assert warehouse.downgrade(warehouse_path, "0008_restricted_exports") == "0008_restricted_exports"
    assert rows(warehouse_path, PRECISION) == [(0,)]
    with duckdb.connect(str(warehouse_path)) as conn:
        conn.execute("UPDATE raw.patients SET row_hash = hash(patient_id, sex, birth_date, menopausal_status, "
                     "ethnicity, menopausal_status_date)")
        conn.execute(f"UPDATE audit.loads SET hash_probe = {HASH_PROBE}")

    assert warehouse.upgrade(warehouse_path, "0010_birth_date_precision") == "0010_birth_date_precision"
    assert rows(warehouse_path, "SELECT birth_date_precision FROM raw.patients") == [("day",)]
    # other bytes (the same bytes would be skipped whole), the same P1 row and a year-only P2
    again = ingest_paths(warehouse_path, [write(tmp_path / "b" / "patients.csv", PATIENT + "P2,M,1960\n")])
    assert (again.files[0].rows_loaded, again.files[0].rows_duplicate) == (1, 1)

    assert warehouse.downgrade(warehouse_path, "0008_restricted_exports") == "0008_restricted_exports"
    assert rows(warehouse_path, "SELECT CAST(birth_date AS VARCHAR) FROM raw.patients ORDER BY source_row, load_id") \
        == [("1950-02-03",), (None,)]
