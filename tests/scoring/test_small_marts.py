"""Exact values on hand-written marts: OST index and bands, refusals, contributions, idempotence."""
from __future__ import annotations

import json

import pytest

from etl.errors import OsteoregError
from etl.scoring.runner import score

from .conftest import rows

# (assessment_id, patient_key, scan_date, age, weight_kg, bmi, who_category)
OST_ROWS = [
    ("A1", "K1", "2024-01-10", 70, 49.5, 21.0, "osteoporosis"),        # 0.2 x (49.5 - 70) = -4.1 -> high
    ("A2", "K2", "2024-01-11", 70, 50.0, 22.0, "osteopenia"),          # -4.0, the cut itself -> moderate
    ("A3", "K3", "2024-01-12", 70, 64.9, 23.0, "normal"),              # -1.02 -> moderate
    ("A4", "K4", "2024-01-13", 70, 65.0, 24.0, "normal"),              # -1.0, the cut itself -> low
    ("A5", "K5", "2024-01-14", 48, 81.3, 30.0, "normal"),              # 6.66 -> low
    ("A6", "K6", "2024-01-15", 66, None, None, "severe_osteoporosis"),  # no weight: not scored
    ("A7", "K7", "2024-01-16", 59, 55.0, 20.0, None),                  # no outcome: scored all the same
]
EXPECTED_OST = {"A1": (-4.1, "high"), "A2": (-4.0, "moderate"), "A3": (-1.02, "moderate"),
                "A4": (-1.0, "low"), "A5": (6.66, "low"), "A7": (-0.8, "low")}


def labs_for(assessments):
    return [(a[0], 0.80, 1.1, 2.3, 60.0, 40.0, 2.0, 0.4, 50.0) for a in assessments]


def test_ost_index_and_bands_are_exact(make_small_marts):
    path = make_small_marts(OST_ROWS, labs_for(OST_ROWS))
    run = score(path)
    ost = run.model("ost")
    assert (ost.status, ost.new_scores, ost.not_scorable) == ("scored", 6, 1)
    got = {a: (s, b, p, json.loads(c)) for a, s, b, p, c in rows(
        path, "SELECT assessment_id, score, risk_band, risk_probability, contributions FROM scoring.risk_scores "
              "WHERE model_name = 'ost'")}
    assert {a: (s, b) for a, (s, b, _, _) in got.items()} == EXPECTED_OST
    assert all(p is None for _, _, p, _ in got.values())                  # OST gives no probability
    s, _, _, contributions = got["A5"]
    assert contributions == pytest.approx({"weight_kg": 0.2 * 81.3, "age_at_scan": -0.2 * 48})
    assert sum(contributions.values()) == pytest.approx(s)


def test_fitted_models_refuse_with_too_few_outcomes_and_ost_still_scores(make_small_marts):
    path = make_small_marts(OST_ROWS, labs_for(OST_ROWS))
    run = score(path)
    published = run.model("shi2026_published")
    assert published.status == "refused"
    assert published.model_version is None and published.new_scores == 0
    assert published.message == ("The shi2026_published model needs at least 50 assessments with osteoporosis "
                                 "to estimate its intercept, and the registry has 1.")
    assert run.model("local_lasso").status == "refused"
    assert [r.model_name for r in run.refusals] == ["shi2026_published", "local_lasso"]
    assert rows(path, "SELECT DISTINCT model_name FROM scoring.risk_scores") == [("ost",)]
    assert rows(path, "SELECT model_name, is_current, origin FROM scoring.models") == [("ost", True, "defined")]


def test_second_run_adds_nothing_and_new_assessments_only_get_scored(make_small_marts):
    path = make_small_marts(OST_ROWS[:3], labs_for(OST_ROWS[:3]))
    first = score(path)
    assert first.model("ost").new_scores == 3
    assert score(path).new_scores == 0
    from etl import warehouse
    with warehouse.session(path) as conn:
        conn.execute("INSERT INTO marts.fct_bmd_assessment VALUES "
                     "('A9', 'K9', DATE '2024-02-01', 75, 60.0, 25.0, 'normal')").fetchall()
    third = score(path)
    assert third.model("ost").new_scores == 1
    assert rows(path, "SELECT count(*), count(DISTINCT assessment_id) FROM scoring.risk_scores") == [(4, 4)]


def test_changing_a_band_setting_makes_a_new_ost_version_and_keeps_the_old(make_small_marts):
    path = make_small_marts(OST_ROWS, labs_for(OST_ROWS))
    old = score(path).model("ost").model_version
    new_run = score(path, settings={"ost_band_cuts": [-5.0, -1.0]})
    new = new_run.model("ost")
    assert new.model_version != old and new.new_version and new.new_scores == 6
    assert rows(path, "SELECT model_version, is_current FROM scoring.models ORDER BY created_at") == [
        (old, False), (new.model_version, True)]
    assert rows(path, "SELECT risk_band FROM scoring.current_risk_scores WHERE assessment_id = 'A1'") == [("moderate",)]
    assert rows(path, "SELECT count(*) FROM scoring.risk_scores") == [(12,)]


def test_scoring_without_marts_says_so(tmp_path):
    with pytest.raises(OsteoregError, match=r"^The marts are not built yet; run `osteoreg build` before scoring\.$"):
        score(tmp_path / "empty.duckdb")
