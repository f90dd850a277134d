"""Whether a lab code is tracked is decided by dbt on every build, from seed analyte_codes
(issue 11, item 4): a code added to the seed reaches results loaded before it was there, while
raw.is_tracked keeps what the seed said at load."""
from __future__ import annotations

import shutil

import pytest

import etl.build
from etl.paths import DBT_PROJECT_DIR

pytestmark = pytest.mark.slow

ADDED = "14635-7"  # 25-OH vitamin D3 in nmol/L (contract section 7)


def test_a_code_added_to_the_seed_reaches_results_loaded_earlier(raw_warehouse, tmp_path, monkeypatch):
    project = tmp_path / "dbt_project"
    shutil.copytree(DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs"))
    seed = project / "seeds" / "analyte_codes.csv"
    full = seed.read_text(encoding="utf-8")
    (added_line,) = [line for line in full.splitlines() if line.startswith(ADDED + ",")]
    seed.write_text(full.replace(added_line + "\n", ""), encoding="utf-8")  # the seed before the code
    monkeypatch.setattr(etl.build, "DBT_PROJECT_DIR", project)

    raw_warehouse.patients("k1")
    raw_warehouse.insert("raw.lab_results", [
        # loaded while the code was unknown: untracked at load, kept in raw
        {"load_id": 1, "source_row": 1, "patient_id": "p1", "collected_at": "2024-03-01 08:00:00",
         "code": ADDED, "code_system": "LOINC", "loinc_code": ADDED, "value_text": "62", "value_num": 62,
         "unit": "nmol/L", "status": "F", "accession_id": "A1", "is_tracked": False},
        # a code no version of the seed tracks
        {"load_id": 1, "source_row": 2, "patient_id": "p1", "collected_at": "2024-03-01 08:00:00",
         "code": "2345-7", "code_system": "LOINC", "loinc_code": "2345-7", "value_text": "5.1", "value_num": 5.1,
         "unit": "mmol/L", "status": "F", "accession_id": "A2", "is_tracked": False},
    ])
    analytes = "SELECT loinc_code, analyte, value_si, unit_si FROM marts.fct_lab_result ORDER BY 1"

    raw_warehouse.build()
    assert raw_warehouse.query(analytes) == []

    seed.write_text(full, encoding="utf-8")  # the registry adds the code to the seed
    raw_warehouse.build()
    assert raw_warehouse.query(analytes) == [(ADDED, "vitamin_d_25oh", 62.0, "nmol/L")]
    assert raw_warehouse.query("SELECT loinc_code, is_tracked FROM raw.lab_results ORDER BY 1") == [
        (ADDED, False), ("2345-7", False)]
