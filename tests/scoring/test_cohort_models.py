"""The three models on a dbt-built synthetic cohort whose generating model is known."""
from __future__ import annotations

import json

import numpy as np
import pytest

from etl.errors import UsageError
from etl.scoring.runner import export_model, import_model, model_cards, score
from etl.synth.truth import MODEL

from .conftest import rows

pytestmark = pytest.mark.slow

# The generator's odds ratios under the names the registry's terms use.
GENERATING = {"mg_at_or_below_cutoff": MODEL.odds_ratios["mg_at_or_below_cutoff"],
              "age_at_scan": MODEL.odds_ratios["age_per_year"],
              "bmi": MODEL.odds_ratios["bmi_per_kg_m2"],
              "beta_ctx_ng_ml": MODEL.odds_ratios["beta_ctx_per_ng_ml"]}


def metrics_of(path, name):
    (text,) = rows(path, "SELECT metrics FROM scoring.models WHERE model_name = ? AND is_current", [name])[0]
    return json.loads(text)


def test_every_assessment_scored_once_per_model(scored_cohort, cohort):
    path, run = scored_cohort
    n = cohort.manifest.expected["assessments"]
    assert [(m.model_name, m.status, m.new_scores, m.not_scorable) for m in run.models] == [
        ("ost", "scored", n, 0), ("shi2026_published", "scored", n, 0), ("local_lasso", "scored", n, 0)]
    assert rows(path, "SELECT count(*), count(DISTINCT (assessment_id, model_name)) FROM scoring.risk_scores") == [
        (3 * n, 3 * n)]


def test_local_lasso_recovers_the_generating_model(scored_cohort, cohort):
    path, _ = scored_cohort
    metrics = metrics_of(path, "local_lasso")
    odds_ratios = metrics["refit_odds_ratios"]
    for name, true_or in GENERATING.items():
        assert odds_ratios[name]["ci_low"] <= true_or <= odds_ratios[name]["ci_high"], (name, odds_ratios[name])
    true_auroc = cohort.manifest.truth["auroc"]
    out_of_sample = metrics["out_of_sample"]
    assert abs(out_of_sample["auroc"] - true_auroc) <= 0.03, (out_of_sample["auroc"], true_auroc)
    assert out_of_sample["ci_low"] < out_of_sample["auroc"] < out_of_sample["ci_high"]
    assert 0.8 < out_of_sample["calibration_slope"] < 1.2
    assert abs(out_of_sample["calibration_intercept"]) < 0.1
    assert out_of_sample["n_outcomes"] == cohort.manifest.expected["who_category"].get("osteoporosis", 0) + \
        cohort.manifest.expected["who_category"].get("severe_osteoporosis", 0)


def test_published_intercept_calibrates_in_the_large(scored_cohort):
    path, _ = scored_cohort
    (mean_predicted, observed, n) = rows(path, """
        SELECT avg(scores.risk_probability),
               avg(CASE WHEN a.who_category IN ('osteoporosis', 'severe_osteoporosis') THEN 1.0 ELSE 0.0 END),
               count(*)
        FROM scoring.current_risk_scores AS scores
        JOIN marts.fct_bmd_assessment AS a USING (assessment_id)
        WHERE scores.model_name = 'shi2026_published' AND a.who_category IS NOT NULL""")[0]
    assert n > 1000
    assert abs(mean_predicted - observed) < 0.01
    metrics = metrics_of(path, "shi2026_published")
    assert metrics["calibration_in_the_large"]["observed_rate"] == pytest.approx(observed)
    # The published odds ratios are those of the generator, so held-out calibration slope is near 1.
    assert 0.85 < metrics["out_of_sample"]["calibration_slope"] < 1.15


def test_contributions_explain_the_probability(scored_cohort):
    path, _ = scored_cohort
    sample = rows(path, """SELECT score, risk_probability, contributions FROM scoring.risk_scores
                           WHERE model_name = 'local_lasso' ORDER BY assessment_id LIMIT 50""")
    for score_value, probability, contributions in sample:
        parts = json.loads(contributions)
        assert "intercept" in parts and "age_at_scan" in parts
        assert sum(parts.values()) == pytest.approx(score_value, abs=1e-9)
        assert probability == pytest.approx(1 / (1 + np.exp(-score_value)), abs=1e-12)


def test_magnesium_alone_and_ost_metrics(scored_cohort):
    path, _ = scored_cohort
    for name in ("ost", "shi2026_published", "local_lasso"):
        mg = metrics_of(path, name)["magnesium_alone"]
        assert mg["evaluated"] and 0.5 < mg["auroc"] < 0.7 and mg["ci_low"] < mg["auroc"] < mg["ci_high"]
        # The generator's risk steps at 0.845 mmol/L; the Youden cut-off lands near it.
        assert 0.80 <= mg["cutoff"] <= 0.88
        assert 0 < mg["youden_j"] == pytest.approx(mg["sensitivity"] + mg["specificity"] - 1)
    ost = metrics_of(path, "ost")["out_of_sample"]
    assert ost["auroc"] > 0.6 and ost["brier"] is None
    cards = {card["model_name"]: card for card in model_cards(path)}
    assert set(cards) == {"ost", "shi2026_published", "local_lasso"}
    assert "calibration in the large" in cards["shi2026_published"]["intercept"]
    assert cards["local_lasso"]["missing_data"].startswith("simple imputation with an indicator")


def test_rerun_adds_nothing_and_refit_on_the_same_data_gives_the_same_versions(cohort, tmp_path):
    path = cohort.copy_to(tmp_path / "rerun")
    first = score(path)
    again = score(path)
    assert again.new_scores == 0 and not any(m.fitted for m in again.models)
    refit = score(path, refit=True)
    assert [m.model_version for m in refit.models] == [m.model_version for m in first.models]
    assert refit.new_scores == 0 and not any(m.new_version for m in refit.models)
    # Another seed changes the lasso's folds and therefore its fit: a new version, the old one kept.
    changed = score(path, refit=True, settings={"seed": 7})
    lasso = changed.model("local_lasso")
    old = first.model("local_lasso").model_version
    assert lasso.new_version and lasso.model_version != old
    assert lasso.new_scores == first.model("local_lasso").new_scores
    assert rows(path, "SELECT model_version, is_current FROM scoring.models WHERE model_name = 'local_lasso' "
                      "ORDER BY created_at") == [(old, False), (lasso.model_version, True)]
    assert rows(path, "SELECT count(*) FROM scoring.risk_scores WHERE model_version = ?", [old]) == [
        (first.model("local_lasso").new_scores,)]


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
        SELECT count(*), max(abs(here.risk_probability - there.risk_probability)),
               count(*) FILTER (WHERE here.contributions::VARCHAR <> there.contributions::VARCHAR)
        FROM scoring.risk_scores AS here
        JOIN source.scoring.risk_scores AS there USING (assessment_id, model_name, model_version)
        WHERE here.model_name = 'local_lasso'""")
    assert differences == [(lasso.new_scores, 0.0, 0)]
    assert import_model(target, model_file).already_present


def test_an_altered_model_file_is_refused(scored_cohort, tmp_path):
    source, _ = scored_cohort
    model_file = export_model(source, "shi2026_published", tmp_path / "published.json")
    document = json.loads(model_file.read_text())
    document["parameters"]["intercept"] += 0.5
    model_file.write_text(json.dumps(document))
    with pytest.raises(UsageError, match="its parameters were changed after export"):
        import_model(tmp_path / "elsewhere.duckdb", model_file)
    with pytest.raises(UsageError, match="Unknown model 'frax'"):
        export_model(source, "frax", tmp_path / "frax.json")
