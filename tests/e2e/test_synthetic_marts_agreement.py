"""End to end: ingest and `dbt build` on a generated cohort give the marts the manifest predicts.

This is the manifest's purpose: later tests of the marts and of scoring assert against it."""
from __future__ import annotations

import pytest

from etl import build, warehouse
from etl.ingest.loader import ingest_paths
from etl.synth.flat import write_flat

from etl.synth.flat import FORMATS as ALL_FORMATS


@pytest.mark.slow
def test_marts_match_the_manifest(tmp_path):
    manifest = write_flat(tmp_path / "input", 400, lab_files=2, formats=ALL_FORMATS)
    ingest_paths(tmp_path / "wh.duckdb", [tmp_path / "input"])
    build.build(tmp_path / "wh.duckdb", exclude="resource_type:unit_test")
    expected = manifest.expected
    # dbt-duckdb keeps the file open in this process, so read it through the same (writable) instance;
    # the marts round SI values to 6 decimals (dbt var si_value_decimals), hence the 1e-9 below.
    with warehouse.session(tmp_path / "wh.duckdb") as con:
        _assert_marts(con, manifest)


def _assert_marts(con, manifest) -> None:
    expected = manifest.expected
    con.register("truth", manifest.truth_assessments())
    labs = dict(con.execute("SELECT analyte, count(*) FROM marts.fct_lab_result GROUP BY 1").fetchall())
    who = dict(con.execute("SELECT who_category, count(*) FROM marts.fct_bmd_assessment GROUP BY 1").fetchall())
    iscd = dict(con.execute("SELECT iscd_category, count(*) FROM marts.fct_bmd_assessment GROUP BY 1").fetchall())
    deficient, below_cutoff = con.execute(
        "SELECT count(*) FILTER (WHERE mg_deficient), count(*) FILTER (WHERE mg_below_op_cutoff) "
        "FROM marts.fct_deficiency_flags").fetchall()[0]
    assert labs == expected["current_final_results"]
    assert who == expected["who_category"] and iscd == expected["iscd_category"]
    assert (deficient, below_cutoff) == (expected["assessments_mg_deficient"],
                                         expected["assessments_mg_at_or_below_cutoff"])
    per_assessment = con.execute("""
        SELECT count(*),
               count(*) FILTER (WHERE abs(f.mg_mmol_l - t.mg_mmol_l) < 1e-9 AND f.mg_days_from_scan = t.mg_days_from_scan),
               count(*) FILTER (WHERE a.min_t_score = t.min_t_score AND a.age_at_scan = t.age_at_scan)
        FROM truth AS t
        JOIN identity.patient_map AS p USING (patient_id)
        JOIN marts.fct_bmd_assessment AS a ON a.patient_key = p.patient_key AND a.scan_date = t.scan_date
        JOIN marts.fct_deficiency_flags AS f ON f.assessment_id = a.assessment_id""").fetchall()[0]
    assert per_assessment == (expected["assessments"],) * 3
