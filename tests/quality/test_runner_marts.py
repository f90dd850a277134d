"""Mart suites on mart tables shaped as contract section 6 (plain SQL, values chosen here).

These catch the defects the issue names: duplicate keys, an impossible T-score that slipped
through, flags that disagree with their values. `test_end_to_end.py` runs the same suites on
marts that dbt built.
"""
from __future__ import annotations

import json

import pytest

from etl.quality.runner import run_checks

from .conftest import MART_SUITES, execute, query

pytestmark = pytest.mark.slow


def _failed(run) -> dict:
    return {f.check_key: f for f in run.failures}


def test_a_clean_cohort_passes_every_mart_check(mart_warehouse):
    run = run_checks(mart_warehouse, suites=MART_SUITES)
    assert [s.status for s in run.suites] == ["validated"] * 5
    assert run.failures == [] and run.checks == sum(s.checks for s in run.suites) > 60


def test_duplicate_key_impossible_t_score_and_inconsistent_flag_fail_the_right_checks(mart_warehouse):
    execute(
        mart_warehouse,
        # a second row for assessment A2 (duplicate key, and duplicate patient x scan date)
        "INSERT INTO marts.fct_bmd_assessment SELECT * FROM marts.fct_bmd_assessment WHERE assessment_id = 'A2'",
        # an impossible T-score that slipped through, consistently propagated to min_t_score
        "UPDATE marts.fct_bmd_assessment SET t_score_lumbar_spine = -9.5, min_t_score = -9.5 WHERE assessment_id = 'A1'",
        # magnesium 0.90 flagged deficient while 0.85 is not
        "UPDATE marts.fct_deficiency_flags SET mg_mmol_l = 0.90 WHERE assessment_id = 'A3'",
    )
    run = run_checks(mart_warehouse, suites=MART_SUITES)
    failed = _failed(run)
    assert set(failed) == {
        "marts_fct_bmd_assessment:expect_column_values_to_be_unique:assessment_id",
        "marts_fct_bmd_assessment:expect_compound_columns_to_be_unique:patient_key,scan_date",
        "marts_fct_bmd_assessment:expect_column_values_to_be_between:t_score_lumbar_spine",
        "marts_fct_bmd_assessment:expect_column_values_to_be_between:min_t_score",
        "marts_fct_deficiency_flags:unexpected_rows_expectation:mg_deficient",
        "marts_fct_deficiency_flags:unexpected_rows_expectation:mg_below_op_cutoff",
    }
    unique = failed["marts_fct_bmd_assessment:expect_column_values_to_be_unique:assessment_id"]
    assert (unique.unexpected_count, unique.severity, unique.category) == (2, "critical", "conformance")
    t_score = failed["marts_fct_bmd_assessment:expect_column_values_to_be_between:min_t_score"]
    assert (t_score.unexpected_count, t_score.severity, t_score.category) == (1, "critical", "plausibility")
    flag = failed["marts_fct_deficiency_flags:unexpected_rows_expectation:mg_deficient"]
    assert (flag.unexpected_count, flag.severity, flag.column) == (1, "critical", "mg_deficient")
    assert flag.unexpected_percent == pytest.approx(25.0)
    assert run.critical_failed == 6
    rows = dict(query(mart_warehouse, """SELECT check_key, failing_row_keys FROM audit.quality_results
        WHERE status = 'failed' AND suite = 'marts_fct_deficiency_flags'"""))
    assert json.loads(rows["marts_fct_deficiency_flags:unexpected_rows_expectation:mg_deficient"]) == [{"assessment_id": "A3"}]


def test_category_out_of_order_with_its_t_score_is_caught_without_knowing_the_cut_offs(mart_warehouse):
    execute(mart_warehouse, "UPDATE marts.fct_bmd_assessment SET who_category = 'normal', iscd_category = 'normal' "
                            "WHERE assessment_id = 'A2'")          # T -1.4 'normal' while T 0.1 is normal too, -1.2 osteopenia
    failed = _failed(run_checks(mart_warehouse, suites=["marts_fct_bmd_assessment"]))
    assert list(failed) == ["marts_fct_bmd_assessment:unexpected_rows_expectation:who_category#2"]
    assert failed["marts_fct_bmd_assessment:unexpected_rows_expectation:who_category#2"].unexpected_count == 1


def test_a_mart_suite_whose_column_is_missing_reports_an_error_that_counts_as_failed(mart_warehouse):
    execute(mart_warehouse, "ALTER TABLE marts.dim_patient DROP COLUMN menopausal_status")
    run = run_checks(mart_warehouse, suites=["marts_dim_patient"])
    result = next(r for r in run.results if r.column_name == "menopausal_status")
    assert result.status == "error" and "menopausal_status" in result.exception_message
    assert run.critical_failed == 1
