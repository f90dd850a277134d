"""The 33% radius (issue 12 point 4) through a real dbt build: its columns in
fct_bmd_assessment, min_t_score over the core sites only, the optional ISCD 2019 rule, and the
build-summary warning for a source whose DXA rows are all radius."""
from __future__ import annotations

import io

import pytest
from rich.console import Console

from etl import console

pytestmark = pytest.mark.slow


def _two_sources(raw) -> None:
    """A hospital export with a hip and a radius, and a Synthea-like export with the radius only."""
    raw.patients("k1", "k2")
    raw.insert("raw.patients", [
        {"load_id": 1, "source_row": 2, "patient_id": "p1", "sex": "F", "birth_date": "1950-05-01"},
        {"load_id": 1, "source_row": 3, "patient_id": "p2", "sex": "F", "birth_date": "1948-01-01"}])
    raw.insert("raw.dxa_results", [
        {"load_id": 2, "source_row": 2, "source_file": "hospital/dxa.csv", "patient_id": "p1",
         "scan_date": "2024-03-10", "site": "total_hip", "side": "left", "t_score": -1.2, "status": "F"},
        {"load_id": 2, "source_row": 3, "source_file": "hospital/dxa.csv", "patient_id": "p1",
         "scan_date": "2024-03-10", "site": "radius_33", "side": "left", "t_score": -2.9, "z_score": -1.4,
         "bmd_g_cm2": 0.58, "status": "F"},
        {"load_id": 3, "source_row": 2, "source_file": "synthea/observations.csv", "patient_id": "p2",
         "scan_date": "2024-04-01", "site": "radius_33", "t_score": -2.6, "z_score": -0.9, "status": "F"}])


def test_radius_columns_core_minimum_and_a_warning_for_a_radius_only_source(raw_warehouse):
    _two_sources(raw_warehouse)
    printed = io.StringIO()

    result, _ = console.build(Console(file=printed, width=400), raw_warehouse.path)

    rows = raw_warehouse.query("""SELECT patient_key, t_score_radius_33, z_score_radius_33, bmd_radius_33,
        min_t_score, min_t_score_site, who_category FROM marts.fct_bmd_assessment ORDER BY patient_key""")
    assert rows == [("k1", -2.9, -1.4, 0.58, -1.2, "total_hip", "osteopenia"),
                    ("k2", -2.6, -0.9, None, None, None, None)]
    (warning,) = result.warnings
    assert (warning.name, warning.failures) == ("warn_dxa_sources_with_only_radius_rows", 1)
    assert "only 33% radius DXA rows" in warning.description
    assert "warning Some source sends only 33% radius DXA rows" in printed.getvalue()
    assert "dbt test warn_dxa_sources_with_only_radius_rows: 1 row)" in printed.getvalue()


def test_the_radius_stands_in_without_a_core_site_when_the_registry_says_so(raw_warehouse):
    _two_sources(raw_warehouse)

    raw_warehouse.build(vars={"use_radius_33_when_no_core_site": True})

    rows = raw_warehouse.query("""SELECT patient_key, min_t_score, min_t_score_site, who_category
        FROM marts.fct_bmd_assessment ORDER BY patient_key""")
    assert rows == [("k1", -1.2, "total_hip", "osteopenia"), ("k2", -2.6, "radius_33", "osteoporosis")]
