"""The local model's procedure on seeded frames: the 1-SE rule, the spline, indicators only with
their variable, the Riley et al. 2020 check, and refusals of data that cannot be fitted."""
from __future__ import annotations

import numpy as np
import pytest

from etl.scoring import lasso
from etl.scoring.frame import DAYS_COLUMNS, Frame
from etl.scoring.linear import INPUT_COLUMNS
from etl.scoring.models import ModelRefused
from etl.scoring.samplesize import riley_minimum
from etl.scoring.settings import load_settings

RULES = {"who_osteoporosis_t_score_max": -2.5, "iscd_who_applies_from_age": 50, "prescan_lab_window_days": 90,
         "mg_op_cutoff_at_or_below_mmol_l": 0.845, "triage_no_dxa_within_years": 5}


def seeded_frame(n: int, seed: int, noise_missing: float = 0.0) -> Frame:
    """Age and beta-CTx carry the risk; CRP is pure noise (and sometimes missing, at random)."""
    rng = np.random.default_rng(seed)
    columns = {name: np.full(n, np.nan) for name in INPUT_COLUMNS}
    columns["age_years"] = rng.uniform(50, 85, n)
    columns["beta_ctx_ng_ml"] = rng.gamma(4, 0.12, n)
    columns["crp_mg_l"] = np.where(rng.random(n) < noise_missing, np.nan, rng.gamma(2, 2, n))
    logit = -5.2 + 0.07 * columns["age_years"] + 1.6 * columns["beta_ctx_ng_ml"]
    outcome = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(float)
    return Frame(subject_id=np.array([f"a{i:05d}" for i in range(n)], dtype=object),
                 patient_key=np.array([f"p{i // 2:05d}" for i in range(n)], dtype=object),
                 sex=np.full(n, "F", dtype=object), menopausal_status=np.full(n, "post", dtype=object),
                 columns=columns, days_before={name: np.full(n, 5.0) for name in DAYS_COLUMNS}, outcome=outcome)


FAST = {"cv_folds": 2, "bootstrap_replicates": 50}


def test_one_se_rule_drops_the_pure_noise_term():
    frame = seeded_frame(2000, seed=3)
    parameters, odds_ratios = lasso.fit_once(frame, load_settings({"lasso_penalty_rule": "1se"}))
    selected = parameters["selection"]["selected"]
    assert "age_years" in selected and "beta_ctx_ng_ml" in selected
    assert "crp_mg_l" not in selected
    assert parameters["selection"]["penalty_C"] <= parameters["selection"]["penalty_C_at_min_loss"]
    assert odds_ratios["age_years"]["ci_low"] < np.exp(0.07) < odds_ratios["age_years"]["ci_high"]


def test_a_missing_indicator_never_enters_without_its_variable():
    frame = seeded_frame(2000, seed=5, noise_missing=0.3)
    candidates, _ = lasso.candidates(frame, load_settings())
    assert {"name": "crp_mg_l_missing", "column": "crp_mg_l", "transform": "is_missing",
            "variable": "crp_mg_l_missing", "indicator_of": ["crp_mg_l"]} in candidates
    parameters, _ = lasso.fit_once(frame, load_settings())
    selected = parameters["selection"]["selected"]
    assert ("crp_mg_l_missing" in selected) == ("crp_mg_l" in selected)


def test_magnesium_enters_as_a_spline_beside_the_dichotomy():
    frame = seeded_frame(600, seed=8)
    rng = np.random.default_rng(1)
    frame.columns["mg_mmol_l"] = rng.normal(0.85, 0.08, 600)
    frame.columns["mg_below_op_cutoff"] = (frame.columns["mg_mmol_l"] <= 0.845).astype(float)
    names = [term["name"] for term in lasso.candidates(frame, load_settings())[0]]
    assert names == ["age_years", "mg_mmol_l", "mg_mmol_l_rcs1", "mg_mmol_l_rcs2", "mg_below_op_cutoff",
                     "crp_mg_l", "beta_ctx_ng_ml"]          # is_female and empty labs have no variation / data
    knots = next(term["knots"] for term in lasso.candidates(frame, load_settings())[0] if term["name"] == "mg_mmol_l_rcs1")
    assert knots == pytest.approx(list(np.quantile(frame.columns["mg_mmol_l"], [0.05, 0.35, 0.65, 0.95])))


def test_riley_minimum_sample_size_on_the_papers_binary_example():
    # Riley et al. 2020 (BMJ 368:m441), binary example: 24 parameters, outcome proportion 0.174,
    # anticipated Cox-Snell R2 0.288: criterion (i), shrinkage 0.9, needs 623 participants.
    # Criterion (ii) by hand: S = 0.288 / (0.288 + 0.05 x 0.6032) = 0.9051, n = 24 / ((S - 1) ln(1 - 0.288 / S))
    # = 662; criterion (iii): (1.96 / 0.05)^2 x 0.174 x 0.826 = 221.
    phi = 0.174
    max_r2 = 1 - np.exp(2 * (phi * np.log(phi) + (1 - phi) * np.log(1 - phi)))
    size = riley_minimum(1000, 174, 24, 0.288 / max_r2, 0.9, 0.05, 0.05, 1.96)
    assert (size.criteria["shrinkage"], size.criteria["optimism"], size.criteria["overall_risk"]) == (623, 662, 221)
    assert size.required == 662 and size.enough
    assert not riley_minimum(600, 104, 24, 0.288 / max_r2, 0.9, 0.05, 0.05, 1.96).enough


def test_too_small_a_sample_warns_or_refuses_in_one_sentence():
    frame = seeded_frame(400, seed=2)
    rng = np.random.default_rng(9)
    for column in ("phosphate_mmol_l", "calcium_mmol_l", "vitd_nmol_l", "pth_ng_l", "p1np_ng_ml"):
        frame.columns[column] = rng.normal(1.0, 0.2, 400)          # more candidate parameters
    n_outcomes = int(frame.outcome.sum())
    fit = lasso.fit(frame, load_settings(FAST), RULES)
    assert len(fit.warnings) == 1
    sentence = fit.warnings[0]
    assert sentence.startswith(f"The local_lasso model has 400 assessments ({n_outcomes} with osteoporosis) for ")
    assert sentence.endswith("that Riley et al. 2020 require, so its estimates may be overfitted.")
    assert fit.card["warnings"] == [sentence]
    with pytest.raises(ModelRefused, match=r"Riley et al\. 2020 require, so it is not fitted\.$"):
        lasso.fit(frame, load_settings({**FAST, "riley_action": "refuse"}), RULES)


def test_a_refit_that_cannot_be_computed_is_refused_in_one_sentence():
    frame = seeded_frame(600, seed=4)
    frame.outcome = (frame.columns["beta_ctx_ng_ml"] > 0.5).astype(float)      # perfect separation
    with pytest.raises(ModelRefused) as refusal:
        lasso.fit_once(frame, load_settings())
    message = str(refusal.value)
    assert message.startswith("The local_lasso refit ") and message.endswith(".") and "\n" not in message
