"""`shi2026_abstract_ors`: a score from the four adjusted odds ratios in Shi et al.'s abstract.

What it is, and is not: Shi et al. 2026 (Front Med; a retrospective cohort of 496 hospitalised
postmenopausal women) report in the abstract four adjusted ORs (Mg <= 0.845 mmol/L, beta-CTx,
age, BMI) of a regression whose other covariates are not listed, and a six-predictor nomogram
(BMI, age, Mg, P, beta-CTx, P1NP) without coefficients or intercept. So this is not their model:
the four ORs are used as if they were the whole predictor, the beta-CTx scale is assumed (per
ng/mL), and the intercept, not published, is recalibrated here (calibration in the large). The
cut-off 0.845 mmol/L is the paper's, a constant of this score, not the registry's var. It scores
only its population, postmenopausal women; others get no score, with the reason.
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import brentq

from .evaluate import patient_folds, probability_metrics
from .frame import Frame
from .linear import design_matrix, expit, in_population
from .models import (SYNTHETIC_NOTE, Fit, ModelDefinition, evaluated_at, mg_alone_metrics, outcome_definition,
                     probability_bands, require_outcomes)
from .settings import ScoringSettings

NAME = "shi2026_abstract_ors"
SOURCE = ("Shi et al. 2026, Frontiers in Medicine (abstract): serum magnesium and osteoporosis in postmenopausal "
          "women, a retrospective cohort of 496 hospitalised patients; adjusted odds ratios of a multivariable "
          "logistic regression")
WHAT_IT_IS = ("Score from the four adjusted ORs of the abstract; other covariates, intercept and nomogram not "
              "published; beta-CTx scale assumed (ng/mL); intercept recalibrated locally.")
POPULATION_TEXT = "postmenopausal women"


def terms(settings: ScoringSettings) -> list[dict]:
    log_odds = settings.shi_log_odds()
    return [
        {"name": "mg_at_or_below_0_845", "column": "mg_mmol_l", "transform": "at_or_below",
         "threshold": settings.shi_mg_cutoff_mmol_l, "coefficient": log_odds["mg_at_or_below_0_845"]},
        {"name": "beta_ctx_ng_ml", "column": "beta_ctx_ng_ml", "transform": "linear",
         "coefficient": log_odds["beta_ctx_ng_ml"]},
        {"name": "age_years", "column": "age_years", "transform": "linear", "coefficient": log_odds["age_years"]},
        {"name": "bmi", "column": "bmi", "transform": "linear", "coefficient": log_odds["bmi"]},
    ]


def calibrate_intercept(linear_predictor: np.ndarray, outcome: np.ndarray) -> float:
    """The intercept b with mean(expit(b + lp)) = mean(outcome); monotone in b, so one root."""
    target = float(np.mean(outcome))
    return float(brentq(lambda b: float(np.mean(expit(b + linear_predictor))) - target, -100.0, 100.0,
                        xtol=1e-12, rtol=1e-12))


def fit(frame: Frame, settings: ScoringSettings, rules: dict) -> Fit:
    model_terms = terms(settings)
    matrix = design_matrix(model_terms, frame.columns)
    inside = in_population({"population": settings.shi_population}, frame.sex, frame.menopausal_status)
    usable = ~np.isnan(matrix).any(axis=1) & ~np.isnan(frame.outcome) & inside
    y = frame.outcome[usable]
    require_outcomes(NAME, y, settings, "estimate its intercept in its population (postmenopausal women)")
    coefficients = np.array([term["coefficient"] for term in model_terms])
    lp = matrix[usable] @ coefficients
    patients = frame.patient_key[usable]

    folds = patient_folds(patients, settings.cv_folds, settings.seed)
    held_out = np.empty(len(y))
    for fold in range(settings.cv_folds):
        test = folds == fold
        held_out[test] = expit(calibrate_intercept(lp[~test], y[~test]) + lp[test])

    intercept = calibrate_intercept(lp, y)
    parameters = {
        "model": NAME,
        "kind": "logistic",
        "intercept": intercept,
        "intercept_method": "calibration_in_the_large",
        "terms": model_terms,
        "population": dict(settings.shi_population),
        "population_text": POPULATION_TEXT,
        "bands": probability_bands(settings),
        "missing_rule": "complete_case",
    }
    metrics = {
        "evaluated": True,
        "evaluated_at": evaluated_at(),
        "validation": f"{settings.cv_folds}-fold cross-validation grouped by patient: the intercept is "
                      "re-estimated on each training part and applied to the held-out part",
        "out_of_sample": probability_metrics(held_out, y, patients, settings),
        "calibration_in_the_large": {"mean_predicted": float(np.mean(expit(intercept + lp))),
                                     "observed_rate": float(y.mean()), "n_assessments": int(len(y)),
                                     "n_outcomes": int(y.sum())},
        "magnesium_alone": mg_alone_metrics(frame.subset(inside), settings),
        "note": SYNTHETIC_NOTE,
    }
    return Fit(parameters=parameters, metrics=metrics, card=card(parameters, settings, rules))


def card(parameters: dict, settings: ScoringSettings, rules: dict) -> dict:
    ors = settings.shi_odds_ratios
    return {
        "title": "Score from the adjusted odds ratios of Shi et al. 2026 (abstract)",
        "what_it_is": WHAT_IT_IS,
        "source": SOURCE,
        "formula": "logit(p) = intercept + " + " + ".join(
            f"ln({ors[term['name']][0]}) x {_term_text(term)}" for term in parameters["terms"]),
        "published_odds_ratios": {name: {"odds_ratio": v[0], "ci_low": v[1], "ci_high": v[2]}
                                  for name, v in ors.items()},
        "published_odds_ratios_text": "; ".join(f"{name} {v[0]:.3f} ({v[1]:.3f}-{v[2]:.3f})" for name, v in ors.items()),
        "cutoff": f"Mg <= {settings.shi_mg_cutoff_mmol_l} mmol/L is the paper's ROC cut-off, a constant of this "
                  "score (the registry's own cut-off, var mg_op_cutoff_at_or_below_mmol_l = "
                  f"{rules.get('mg_op_cutoff_at_or_below_mmol_l')}, is not used here)",
        "not_published": "the regression's other covariates, its intercept, and the nomogram's coefficients "
                         "(BMI, age, Mg, P, beta-CTx, P1NP)",
        "intercept": "recalibrated on this registry's postmenopausal women by calibration in the large (mean "
                     "predicted probability = observed rate); the odds ratios are not re-estimated",
        "unit_assumptions": "beta-CTx per ng/mL (the abstract gives no unit; assumed), magnesium mmol/L, age in "
                            "whole years, BMI kg/m2 from the scan's height and weight",
        "population": "postmenopausal women only (menopausal_status = post); men and other women get no score, "
                      "with the reason in scoring.risk_scores.not_scored_reason",
        "missing_data": "complete cases: an assessment without any of the four predictors gets no score, with "
                        "the reason",
        "outcome": outcome_definition(rules),
        "evaluation": f"{settings.cv_folds}-fold cross-validation grouped by patient (out-of-sample); AUROC "
                      "interval by patient-cluster bootstrap when patients have several scans",
        "minimum_outcomes": settings.min_outcomes,
        "limitations": "Not Shi et al.'s model: four adjusted ORs from a model with unlisted covariates, "
                       "transported as if complete; single-centre hospital cohort. The probability bands are a "
                       "registry convention.",
        "metrics_note": SYNTHETIC_NOTE,
    }


def _term_text(term: dict) -> str:
    if term["transform"] == "at_or_below":
        return f"[{term['column']} <= {term['threshold']}]"
    return term["column"]


DEFINITION = ModelDefinition(name=NAME, title="Shi et al. 2026 abstract ORs score", fitted=True, fit=fit)
