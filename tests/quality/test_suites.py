"""The suite files themselves: complete metadata, seed-driven parameters, no restated numbers."""
from __future__ import annotations

import csv
import json
import shutil

import pytest

from etl.paths import EXPECTATIONS_DIR, SEEDS_DIR
from etl.quality import seeds
from etl.quality.suites import CATEGORIES, SEVERITIES, SuiteError, load_suite, load_suites


def test_every_expectation_carries_category_severity_and_threshold_in_meta():
    suites = load_suites()
    assert {suite.name for suite in suites} == {path.stem for path in EXPECTATIONS_DIR.glob("*.json")}
    assert [suite.layer for suite in suites][:4] == ["raw"] * 4           # raw first, marts last
    for suite in suites:
        for check in suite.checks:
            assert check.category in CATEGORIES and check.severity in SEVERITIES, check.key
            assert check.kwargs.get("mostly") == check.meta.get("mostly"), check.key
    keys = [check.key for suite in suites for check in suite.checks]
    assert len(keys) == len(set(keys))


def test_every_parameter_a_suite_uses_is_provided():
    provided = seeds.expectation_parameters().keys()
    for suite in load_suites():
        assert suite.parameter_names() <= provided, suite.name


def test_every_seed_analyte_has_its_plausibility_check_in_fct_lab_result():
    with (SEEDS_DIR / "analytes.csv").open() as handle:
        analytes = {row["analyte"] for row in csv.DictReader(handle)}
    suite = next(s for s in load_suites(["marts_fct_lab_result"]))
    checked = {check.meta["analyte"] for check in suite.checks if "analyte" in check.meta}
    assert checked == analytes
    magnesium = next(c for c in suite.checks if c.meta.get("analyte") == "magnesium")
    assert magnesium.kwargs["min_value"] == {"$PARAMETER": "plausibility_magnesium_low"}
    assert magnesium.severity == "critical"


def test_limits_and_value_sets_follow_the_seed_files(tmp_path):
    """Change a seed and the parameters change with it: Python and JSON restate no seed number."""
    shutil.copytree(SEEDS_DIR, tmp_path / "seeds")
    limits = tmp_path / "seeds" / "plausibility_limits.csv"
    limits.write_text(limits.read_text().replace("t_score,1,-8,8,", "t_score,1,-7.5,6,"))
    with (tmp_path / "seeds" / "dxa_codes.csv").open("a") as handle:
        handle.write("99999-9,forearm_ultradistal,,t_score,test\n")
    changed = seeds.expectation_parameters(seeds_dir=tmp_path / "seeds")
    assert (changed["plausibility_t_score_low"], changed["plausibility_t_score_high"]) == (-7.5, 6.0)
    assert "forearm_ultradistal" in changed["dxa_sites"]
    original = seeds.expectation_parameters()
    assert original["plausibility_t_score_low"] == -8.0
    assert original["dxa_sites"] == ["femoral_neck", "lumbar_spine_l1_l4", "radius_33", "total_hip"]
    assert original["dxa_sides"] == ["left", "right"]
    assert "F" in original["result_statuses"] and "X" in original["result_statuses"]
    assert ["magnesium", "mmol/L"] in original["analyte_si_units"]


def test_today_tomorrow_and_year_come_from_the_run_date():
    import datetime as dt

    parameters = seeds.expectation_parameters(today=dt.date(2025, 12, 31))
    assert (parameters["today"], parameters["tomorrow"], parameters["this_year"]) == ("2025-12-31", "2026-01-01", 2025)


def _write_suite(tmp_path, expectation):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"name": "bad", "meta": {"osteoreg": {"layer": "raw", "table": "raw.patients",
                                                                      "row_keys": ["patient_id"]}},
                                "expectations": [expectation]}))
    return path


@pytest.mark.parametrize("expectation, phrase", [
    ({"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "x"},
      "meta": {"category": "completeness"}}, "meta.severity"),
    ({"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "x"},
      "meta": {"category": "accuracy", "severity": "critical"}}, "meta.category"),
    ({"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "x", "mostly": 0.9},
      "meta": {"category": "completeness", "severity": "warning"}}, "meta.mostly only"),
])
def test_a_suite_without_its_metadata_is_refused(tmp_path, expectation, phrase):
    with pytest.raises(SuiteError, match=phrase) as raised:
        load_suite(_write_suite(tmp_path, expectation))
    assert raised.value.exit_code == 2


def test_mostly_is_written_once_in_meta_and_applied_as_the_kwarg(tmp_path):
    suite = load_suite(_write_suite(tmp_path, {
        "type": "expect_column_values_to_not_be_null", "kwargs": {"column": "x"},
        "meta": {"category": "completeness", "severity": "warning", "mostly": 0.95}}))
    assert suite.checks[0].kwargs["mostly"] == 0.95


def test_unknown_suite_name_is_a_usage_error():
    with pytest.raises(SuiteError, match="No suite named nope"):
        load_suites(["nope"])
