"""Exact values on hand-written marts: OST as published, the published score's population and
refusals, contributions, reasons for rows without a score, and re-runs that score what changed."""
from __future__ import annotations

import pytest

from etl import warehouse
from etl.errors import OsteoregError
from etl.scoring.runner import model_cards, score

from .conftest import rows

# (assessment_id, patient_key, scan_date, age, sex, menopausal_status, weight_kg, bmi, who_category)
OST_ROWS = [
    ("A1", "K1", "2024-01-10", 70, "F", "post", 49.5, 21.0, "osteoporosis"),   # 0.2 x (49.5 - 70) = -4.1 -> -4
    ("A2", "K2", "2024-01-11", 70, "F", "post", 45.0, 22.0, "osteopenia"),     # -5.0 -> high
    ("A3", "K3", "2024-01-12", 70, "F", "post", 50.0, 23.0, "normal"),         # -4.0 exactly -> moderate
    ("A4", "K4", "2024-01-13", 70, "F", "post", 50.5, 24.0, "normal"),         # -3.9 -> -3, moderate
    ("A5", "K5", "2024-01-14", 70, "F", "post", 65.0, 30.0, "normal"),         # -1.0 exactly -> moderate
    ("A6", "K6", "2024-01-15", 70, "F", "pre", 65.5, 20.0, "normal"),          # -0.9 -> 0, low
    ("A7", "K7", "2024-01-16", 70, "M", None, 45.0, 20.0, "osteoporosis"),     # a man: index -5, no band
    ("A8", "K8", "2024-01-17", 66, "F", "post", None, None, "severe_osteoporosis"),  # no weight: no score
]
EXPECTED_TRUNCATED = {"A1": (-4.0, "moderate"), "A2": (-5.0, "high"), "A3": (-4.0, "moderate"),
                      "A4": (-3.0, "moderate"), "A5": (-1.0, "moderate"), "A6": (0.0, "low"), "A7": (-5.0, None),
                      "A8": (None, None)}
EXPECTED_RAW = {"A1": (-4.1, "high"), "A2": (-5.0, "high"), "A3": (-4.0, "moderate"), "A4": (-3.9, "moderate"),
                "A5": (-1.0, "moderate"), "A6": (-0.9, "low"), "A7": (-5.0, None), "A8": (None, None)}
MEN_NOTE = ("no band: the OST cut-offs (Koh 2001) were derived in women and no sex-specific cut-offs for men "
            "are adopted")


def labs_for(assessments):
    return [(a[0], 0.80, 1.1, 2.3, 60.0, 40.0, 2.0, 0.4, 50.0) for a in assessments]


def ost_scores(path, version=None):
    where = "" if version is None else f" AND model_version = '{version}'"
    return {a: (s, b) for a, s, b in rows(
        path, f"SELECT assessment_id, score, risk_band FROM scoring.risk_scores WHERE model_name = 'ost'{where}")}


def test_ost_truncates_then_bands_at_the_published_boundaries(make_small_marts):
    path = make_small_marts(OST_ROWS, labs_for(OST_ROWS))
    run = score(path)
    ost = run.model("ost")
    assert (ost.status, ost.new_scores, ost.not_scorable) == ("scored", 8, 1)
    assert ost_scores(path) == EXPECTED_TRUNCATED
    assert rows(path, "SELECT band_note FROM scoring.risk_scores WHERE model_name = 'ost' AND assessment_id = 'A7'") == [
        (MEN_NOTE,)]
    assert rows(path, "SELECT not_scored_reason FROM scoring.risk_scores WHERE model_name = 'ost' "
                      "AND assessment_id = 'A8'") == [("no value for weight_kg",)]
    assert rows(path, "SELECT risk_probability FROM scoring.risk_scores WHERE model_name = 'ost' "
                      "AND risk_probability IS NOT NULL") == []
    # The contributions are those of the untruncated index, named by the view.
    assert dict(rows(path, "SELECT term, contribution FROM scoring.risk_score_contributions "
                           "WHERE model_name = 'ost' AND assessment_id = 'A4'")) == pytest.approx(
        {"weight_kg": 0.2 * 50.5, "age_years": -0.2 * 70}, rel=1e-6)


def test_ost_without_truncation_bands_the_raw_index(make_small_marts):
    path = make_small_marts(OST_ROWS, labs_for(OST_ROWS))
    version = score(path, settings={"ost_truncate": False}).model("ost").model_version
    assert {a: (None if s is None else round(s, 10), b) for a, (s, b) in ost_scores(path, version).items()} == \
        EXPECTED_RAW
    card = next(card for card in model_cards(path) if card["model_name"] == "ost")
    assert "not truncated" in card["formula"] and "untruncated" in card["bands"]


def test_fitted_models_refuse_with_too_few_outcomes_and_ost_still_scores(make_small_marts):
    path = make_small_marts(OST_ROWS, labs_for(OST_ROWS))
    run = score(path)
    published = run.model("shi2026_abstract_ors")
    assert published.status == "refused"
    assert published.model_version is None and published.new_scores == 0
    assert published.message == (
        "The shi2026_abstract_ors model needs at least 50 assessments with osteoporosis to estimate its "
        "intercept in its population (postmenopausal women), and the registry has 1.")
    assert run.model("local_lasso").status == "refused"
    assert [r.model_name for r in run.refusals] == ["shi2026_abstract_ors", "local_lasso"]
    assert rows(path, "SELECT DISTINCT model_name FROM scoring.risk_scores") == [("ost",)]
    assert run.triage_message == ("No DXA referral candidates: the marts have no fct_latest_lab_panel; "
                                  "run `osteoreg build`.")


def _published_cohort(n_women: int = 240):
    """Postmenopausal women with a known outcome pattern, and a few others outside the population."""
    assessments, labs = [], []
    for i in range(n_women):
        osteoporotic = i % 3 == 0
        assessments.append((f"W{i:03d}", f"P{i:03d}", "2024-02-01", 60 + i % 20, "F", "post", 60.0, 22.0 + i % 7,
                            "osteoporosis" if osteoporotic else "normal"))
        labs.append((f"W{i:03d}", 0.80 if i % 2 else 0.90, 1.1, 2.3, 60.0, 40.0, 2.0, 0.3 + (i % 5) / 10, 50.0))
    others = [("M001", "Q1", "2024-02-01", 70, "M", None, 80.0, 26.0, "osteoporosis"),
              ("F001", "Q2", "2024-02-01", 55, "F", "pre", 60.0, 24.0, "normal"),
              ("F002", "Q3", "2024-02-01", 62, "F", None, 60.0, 24.0, "normal")]
    return assessments + others, labs + labs_for(others)


def test_published_score_scores_only_postmenopausal_women_with_the_reason(make_small_marts):
    assessments, labs = _published_cohort()
    path = make_small_marts(assessments, labs)
    run = score(path)
    assert run.model("shi2026_abstract_ors").status == "scored"
    reasons = dict(rows(path, "SELECT assessment_id, not_scored_reason FROM scoring.risk_scores "
                              "WHERE model_name = 'shi2026_abstract_ors' AND assessment_id IN ('M001', 'F001', 'F002')"))
    assert reasons == {name: "outside the model's population (postmenopausal women)"
                       for name in ("M001", "F001", "F002")}
    assert rows(path, "SELECT count(*) FROM scoring.risk_scores WHERE model_name = 'shi2026_abstract_ors' "
                      "AND score IS NOT NULL") == [(240,)]
    # The paper's cut-off, not the registry's flag: 0.80 and 0.90 mmol/L either side of 0.845.
    contributions = dict(rows(path, "SELECT assessment_id, contribution FROM scoring.risk_score_contributions "
                                    "WHERE model_name = 'shi2026_abstract_ors' AND term = 'mg_at_or_below_0_845' "
                                    "AND assessment_id IN ('W000', 'W001')"))
    assert contributions == pytest.approx({"W000": 0.0, "W001": 0.662688}, abs=1e-6)   # ln(1.940)


def test_published_card_says_what_it_is_with_the_published_intervals(make_small_marts):
    assessments, labs = _published_cohort()
    path = make_small_marts(assessments, labs)
    score(path)
    card = next(card for card in model_cards(path) if card["model_name"] == "shi2026_abstract_ors")
    assert card["what_it_is"] == (
        "Score from the four adjusted ORs of the abstract; other covariates, intercept and nomogram not published; "
        "beta-CTx scale assumed (ng/mL); intercept recalibrated locally.")
    assert card["published_odds_ratios"] == {
        "mg_at_or_below_0_845": {"odds_ratio": 1.94, "ci_low": 1.312, "ci_high": 2.868},
        "beta_ctx_ng_ml": {"odds_ratio": 2.229, "ci_low": 1.034, "ci_high": 4.809},
        "age_years": {"odds_ratio": 1.067, "ci_low": 1.042, "ci_high": 1.092},
        "bmi": {"odds_ratio": 0.894, "ci_low": 0.846, "ci_high": 0.945}}
    assert card["published_odds_ratios_text"] == ("mg_at_or_below_0_845 1.940 (1.312-2.868); beta_ctx_ng_ml 2.229 "
                                                  "(1.034-4.809); age_years 1.067 (1.042-1.092); bmi 0.894 (0.846-0.945)")
    assert card["cutoff"].startswith("Mg <= 0.845 mmol/L is the paper's ROC cut-off, a constant of this score")
    assert "retrospective cohort of 496 hospitalised" in card["source"]
    assert "case-control" not in str(card) and "as published" not in str(card)
    assert "postmenopausal women only" in card["population"]


def test_a_rerun_scores_only_what_changed(make_small_marts):
    path = make_small_marts(OST_ROWS[:3], labs_for(OST_ROWS[:3]))
    first = score(path)
    assert first.model("ost").new_scores == 3
    assert score(path).new_scores == 0
    with warehouse.session(path) as conn:
        conn.execute("INSERT INTO marts.fct_bmd_assessment VALUES ('A9', 'K9', DATE '2024-02-01', 75, 'F', 'post', "
                     "60.0, 25.0, 'normal', false, true)").fetchall()
        conn.execute("UPDATE marts.fct_bmd_assessment SET weight_kg = 60.0 WHERE assessment_id = 'A1'").fetchall()
    third = score(path)
    assert third.model("ost").new_scores == 2                 # the new assessment and the changed one
    assert rows(path, "SELECT count(*), count(DISTINCT assessment_id) FROM scoring.risk_scores "
                      "WHERE model_name = 'ost'") == [(4, 4)]
    assert rows(path, "SELECT score FROM scoring.risk_scores WHERE model_name = 'ost' AND assessment_id = 'A1'") == [
        (-2.0,)]


def test_changing_a_band_setting_makes_a_new_ost_version_and_keeps_the_old(make_small_marts):
    path = make_small_marts(OST_ROWS, labs_for(OST_ROWS))
    old = score(path).model("ost").model_version
    new_run = score(path, settings={"ost_high_below": -5.0})
    new = new_run.model("ost")
    assert new.model_version != old and new.new_version and new.new_scores == 8
    assert rows(path, "SELECT model_version, is_current FROM scoring.models ORDER BY created_at") == [
        (old, False), (new.model_version, True)]
    assert rows(path, "SELECT risk_band FROM scoring.current_risk_scores WHERE assessment_id = 'A2'") == [("moderate",)]
    assert rows(path, "SELECT count(*) FROM scoring.risk_scores") == [(16,)]


def test_scoring_without_marts_says_so(tmp_path):
    with pytest.raises(OsteoregError, match=r"^The marts are not built yet; run `osteoreg build` before scoring\.$"):
        score(tmp_path / "empty.duckdb")


def test_a_model_that_cannot_be_fitted_is_refused_and_the_others_go_on(make_small_marts):
    """osteoreg issue 19: CRP separates the outcome perfectly here, so the lasso's refit cannot be
    computed; it is refused in one sentence, and OST and the published score are still applied."""
    assessments, labs = _published_cohort()
    labs = [(a, mg, p, ca, d, pth, 10.0 if assessment[-1] == "osteoporosis" else 1.0, ctx, p1np)
            for (a, mg, p, ca, d, pth, crp, ctx, p1np), assessment in zip(labs, assessments)]
    path = make_small_marts(assessments, labs)
    run = score(path)
    lasso = run.model("local_lasso")
    assert lasso.status == "refused" and lasso.model_version is None
    assert lasso.message.startswith("The local_lasso ") and lasso.message.count(".") >= 1 and "\n" not in lasso.message
    assert "separate" in lasso.message
    assert [(m.model_name, m.status) for m in run.models] == [
        ("ost", "scored"), ("shi2026_abstract_ors", "scored"), ("local_lasso", "refused")]
