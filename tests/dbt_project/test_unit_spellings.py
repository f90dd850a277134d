"""Unit spellings that convert 1:1 or by 1,000 (issue 12 point 7): through a real ingest and a
real dbt build, each lands in SI; a spelling that does not convert for its analyte stays a
quarantine reason."""
from __future__ import annotations

import duckdb
import pytest

from etl.build import build
from etl.ingest.loader import ingest_paths

pytestmark = pytest.mark.slow

# Hand-written export: one row per spelling, with the SI value the contract's factors give.
LABS = """patient_id,collected_at,code,value,unit,accession_id
P1,2024-03-05T08:00:00,41171-0,350,ng/L,A1
P1,2024-03-05T08:00:00,62292-8,20,ug/L,A2
P1,2024-03-05T08:00:00,1989-3,20,µg/L,A3
P1,2024-03-05T08:00:00,77370-5,45,mcg/L,A4
P1,2024-03-05T08:00:00,1988-5,3.5,ug/mL,A5
P1,2024-03-05T08:00:00,30522-7,1.2,µg/mL,A6
P1,2024-03-05T08:00:00,14635-7,20,MCG/L,A7
P1,2024-03-05T08:00:00,2601-3,0.8,ng/L,A8
P1,2024-03-05T08:00:00,1988-5,3.5,ug/dL,A9
"""

EXPECTED_SI = {
    "A1": ("beta_ctx", 0.35, "ng/mL"),
    "A2": ("vitamin_d_25oh", 49.92, "nmol/L"),
    "A3": ("vitamin_d_25oh", 49.92, "nmol/L"),
    "A4": ("p1np", 45.0, "ng/mL"),
    "A5": ("crp", 3.5, "mg/L"),
    "A6": ("crp", 1.2, "mg/L"),
    # 14635-7 usually carries nmol/L; a unit converts for the analyte, not for the code
    "A7": ("vitamin_d_25oh", 49.92, "nmol/L"),
}


def test_unit_spellings_convert_and_the_others_are_quarantined(tmp_path, write, secret, warehouse_path):
    labs = write(tmp_path / "in" / "labs.csv", LABS)

    report = ingest_paths(warehouse_path, [labs])
    build(warehouse_path, select="+fct_lab_result", exclude="resource_type:unit_test")

    outcome = report.files[0]
    assert (outcome.status, outcome.rows_read, outcome.rows_loaded, outcome.rows_quarantined) == ("loaded", 9, 7, 2)
    with duckdb.connect(str(warehouse_path), read_only=True) as conn:
        quarantined = conn.execute(
            "SELECT json_extract_string(payload, '$.accession_id'), reason FROM audit.quarantine ORDER BY 1").fetchall()
        converted = conn.execute("""
            SELECT r.accession_id, f.analyte, f.value_si, f.unit_si
            FROM marts.fct_lab_result AS f
            JOIN raw.lab_results AS r ON r.load_id = f.load_id AND r.source_row = f.source_row""").fetchall()
    # magnesium in ng/L and CRP in ug/dL have no conversion in the seed: never a guess
    assert quarantined == [("A8", "unknown_unit"), ("A9", "unknown_unit")]
    got = {accession: (analyte, pytest.approx(value, abs=1e-9), unit) for accession, analyte, value, unit in converted}
    for accession, expected in EXPECTED_SI.items():
        assert got[accession] == expected, accession
