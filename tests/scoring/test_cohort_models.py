"""The three models on a dbt-built synthetic cohort whose generating model is known (and is none
of them): recovery of the generator's effects, no post-scan predictor, cards, versions, files."""
from __future__ import annotations

import json

import numpy as np
import pytest

from etl.errors import UsageError
from etl.scoring.runner import export_model, import_model, model_cards, score
from etl.synth.truth import TRUE_EFFECTS

from .conftest import rows

pytestmark = pytest.mark.slow


def metrics_of(path, name):
    (text,) = rows(path, "SELECT metrics FROM scoring.models WHERE model_name = ? AND is_current", [name])[0]
    return json.loads(text)


def test_every_assessment_has_one_row_per_model_with_a_score_or_a_reason(scored_cohort, cohort):
    path, run = scored_cohort
    n = cohort.manifest.expected["assessments"]
    assert [(m.model_name, m.status, m.new_scores) for m in run.models] == [
        ("ost", "scored", n), ("shi2026_abstract_ors", "scored", n), ("local_lasso", "scored", n)]
    assert rows(path, "SELECT count(*), count(DISTINCT (assessment_id, model_name)) FROM scoring.risk_scores") == [
        (3 * n, 3 * n)]
    assert rows(path, "SELECT count(*) FROM scoring.risk_scores WHERE (score IS NULL) = (not_scored_reason IS NULL)") == [
        (0,)]
    assert rows(path, "SELECT count(*) FROM scoring.risk_scores WHERE model_name = 'local_lasso' AND score IS NULL") == [
        (0,)]


def test_the_pipeline_recovers_the_generators_effects(scored_cohort):
    """The local model's refit (clustered 95% intervals) covers the generator's log-odds per unit
    for age, phosphate, P1NP and beta-CTx, and its magnesium curve falls where the truth's does."""
    path, _ = scored_cohort
    metrics = metrics_of(path, "local_lasso")
    odds_ratios = metrics["refit_odds_ratios"]
    for name, log_odds in TRUE_EFFECTS.items():
        assert name in odds_ratios, (name, sorted(odds_ratios))
        assert odds_ratios[name]["ci_low"] <= np.exp(log_odds) <= odds_ratios[name]["ci_high"], (name, odds_ratios[name])
    assert "mg_mmol_l_rcs1" in odds_ratios
    assert metrics["out_of_sample"]["method"] == "patient_cluster_bootstrap"
    assert metrics["out_of_sample"]["ci_low"] < metrics["out_of_sample"]["auroc"] < metrics["out_of_sample"]["ci_high"]
    assert "recovery check" in metrics["note"]


def test_no_model_reads_a_result_collected_after_the_scan(scored_cohort):
    """Treatment after a diagnosis lowers later beta-CTx in this cohort, so the two-sided match
    and the pre-scan labs differ; the scores' beta-CTx contribution is always the pre-scan one."""
    path, _ = scored_cohort
    (differing,) = rows(path, """
        SELECT count(*) FROM marts.fct_deficiency_flags AS flags
        JOIN marts.fct_prescan_labs AS pre USING (assessment_id)
        WHERE flags.beta_ctx_days_from_scan > 0 AND flags.beta_ctx_ng_ml IS DISTINCT FROM pre.beta_ctx_ng_ml""")[0]
    assert differing > 100
    (parameters,) = rows(path, "SELECT parameters FROM scoring.models WHERE model_name = 'local_lasso' AND is_current")[0]
    term = next(t for t in json.loads(parameters)["terms"] if t["name"] == "beta_ctx_ng_ml")
    checked = rows(path, """
        SELECT count(*) FILTER (WHERE abs(c.contribution - $coefficient * coalesce(pre.beta_ctx_ng_ml, $impute)) > 1e-4),
               count(*) FILTER (WHERE flags.beta_ctx_days_from_scan > 0),
               count(*)
        FROM scoring.risk_score_contributions AS c
        JOIN marts.fct_prescan_labs AS pre USING (assessment_id)
        JOIN marts.fct_deficiency_flags AS flags USING (assessment_id)
        WHERE c.model_name = 'local_lasso' AND c.term = 'beta_ctx_ng_ml'""",
                   {"coefficient": term["coefficient"], "impute": term["impute"]})[0]
    assert checked[0] == 0 and checked[1] > 100 and checked[2] > 1000
    assert rows(path, "SELECT min(least(mg_days_before_scan, beta_ctx_days_before_scan, vitd_days_before_scan, "
                      "p1np_days_before_scan)) FROM marts.fct_prescan_labs") == [(0,)]


def test_outcome_only_where_the_who_criteria_apply(scored_cohort):
    path, _ = scored_cohort
    metrics = metrics_of(path, "local_lasso")
    (eligible, outcomes) = rows(path, """SELECT count(*), count(*) FILTER (WHERE is_densitometric_osteoporosis)
                                        FROM marts.fct_bmd_assessment WHERE who_criteria_apply
                                        AND is_densitometric_osteoporosis IS NOT NULL""")[0]
    assert metrics["out_of_sample"]["n_assessments"] == eligible
    assert metrics["out_of_sample"]["n_outcomes"] == outcomes
    (all_rows,) = rows(path, "SELECT count(*) FROM marts.fct_bmd_assessment")[0]
    assert eligible < all_rows


def test_published_score_calibrates_in_the_large_in_its_population(scored_cohort):
    path, _ = scored_cohort
    (mean_predicted, observed, n) = rows(path, """
        SELECT avg(scores.risk_probability), avg(a.is_densitometric_osteoporosis::INT), count(*)
        FROM scoring.current_risk_scores AS scores
        JOIN marts.fct_bmd_assessment AS a USING (assessment_id)
        WHERE scores.model_name = 'shi2026_abstract_ors' AND a.who_criteria_apply AND scores.score IS NOT NULL""")[0]
    assert n > 500
    assert abs(mean_predicted - observed) < 0.01
    assert rows(path, """SELECT count(*) FROM scoring.risk_scores AS s JOIN marts.fct_bmd_assessment AS a
                         USING (assessment_id) WHERE s.model_name = 'shi2026_abstract_ors' AND s.score IS NOT NULL
                         AND NOT (a.sex = 'F' AND a.menopausal_status = 'post')""") == [(0,)]


def test_cards_show_days_before_the_scan_and_the_rules_in_effect(scored_cohort):
    path, _ = scored_cohort
    cards = {card["model_name"]: card for card in model_cards(path)}
    assert set(cards) == {"ost", "shi2026_abstract_ors", "local_lasso"}
    days = cards["local_lasso"]["days_before_scan"]
    assert days["mg"]["n"] > 0 and 0 <= days["mg"]["min"] <= days["mg"]["median"] <= days["mg"]["max"] <= 90
    assert "mg <= 0.845 mmol/L, var mg_op_cutoff_at_or_below_mmol_l as in effect" in cards["local_lasso"]["units"]
    assert "within 90 days" in cards["local_lasso"]["outcome"]
    assert cards["local_lasso"]["standard_errors"].startswith("clustered by patient")
    assert "recovery check" in cards["ost"]["metrics_note"]


def test_contributions_explain_the_probability(scored_cohort):
    path, _ = scored_cohort
    (intercept,) = rows(path, "SELECT parameters->>'$.intercept' FROM scoring.models WHERE model_name = 'local_lasso'")[0]
    sample = rows(path, """SELECT s.score, s.risk_probability, sum(c.contribution)
                           FROM scoring.risk_scores AS s JOIN scoring.risk_score_contributions AS c
                           USING (assessment_id, model_name, model_version)
                           WHERE s.model_name = 'local_lasso' GROUP BY ALL ORDER BY 1 LIMIT 50""")
    for score_value, probability, total in sample:
        assert float(intercept) + total == pytest.approx(score_value, abs=1e-4)       # FLOAT contributions
        assert probability == pytest.approx(1 / (1 + np.exp(-score_value)), abs=1e-12)


def test_rerun_adds_nothing_and_refit_on_the_same_data_gives_the_same_versions(cohort, tmp_path):
    path = cohort.copy_to(tmp_path / "rerun")
    first = score(path)
    again = score(path)
    assert again.new_scores == 0 and not any(m.fitted for m in again.models)
    refit = score(path, refit=True)
    assert [m.model_version for m in refit.models] == [m.model_version for m in first.models]
    assert refit.new_scores == 0 and not any(m.new_version for m in refit.models)
    changed = score(path, refit=True, settings={"seed": 7})
    lasso = changed.model("local_lasso")
    old = first.model("local_lasso").model_version
    assert lasso.new_version and lasso.model_version != old
    assert rows(path, "SELECT model_version, is_current FROM scoring.models WHERE model_name = 'local_lasso' "
                      "ORDER BY created_at") == [(old, False), (lasso.model_version, True)]


def test_export_import_gives_identical_probabilities(scored_cohort, cohort, tmp_path):
    source, _ = scored_cohort
    model_file = export_model(source, "local_lasso", tmp_path / "local_lasso.json")
    target = cohort.copy_to(tmp_path / "other_registry")
    imported = import_model(target, model_file)
    assert not imported.already_present
    run = score(target)
    lasso = run.model("local_lasso")
    assert not lasso.fitted and lasso.model_version == imported.model_version
    differences = rows(target, f"""
        ATTACH '{source}' AS source (READ_ONLY);
        SELECT count(*), max(abs(here.risk_probability - there.risk_probability))
        FROM scoring.risk_scores AS here
        JOIN source.scoring.risk_scores AS there USING (assessment_id, model_name, model_version)
        WHERE here.model_name = 'local_lasso'""")
    assert differences == [(lasso.new_scores, 0.0)]
    assert import_model(target, model_file).already_present


def test_an_altered_model_file_is_refused(scored_cohort, tmp_path):
    source, _ = scored_cohort
    model_file = export_model(source, "shi2026_abstract_ors", tmp_path / "published.json")
    document = json.loads(model_file.read_text())
    document["parameters"]["intercept"] += 0.5
    model_file.write_text(json.dumps(document))
    with pytest.raises(UsageError, match="its parameters were changed after export"):
        import_model(tmp_path / "elsewhere.duckdb", model_file)
    with pytest.raises(UsageError, match="Unknown model 'frax'"):
        export_model(source, "frax", tmp_path / "frax.json")
