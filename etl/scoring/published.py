"""`shi2026_published`: Shi et al. 2026's adjusted odds ratios as a logistic model.

The paper publishes odds ratios but no intercept, so the coefficients are fixed at ln(OR) and
only the intercept is estimated here, by calibration in the large: the intercept for which the
mean predicted probability equals the registry's observed rate of osteoporosis. Units are
assumed to be the paper's: magnesium in mmol/L (entering as the indicator of <= the cut-off),
beta-CTx in ng/mL, age in years, BMI in kg/m2; the marts carry exactly these SI units.
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import brentq

from .evaluate import patient_folds, probability_metrics
from .frame import Frame
from .linear import design_matrix, expit
from .models import (Fit, ModelDefinition, evaluated_at, mg_alone_metrics, outcome_definition,
                     probability_bands, require_outcomes)
from .settings import ScoringSettings, mg_cutoff_mmol_l

NAME = "shi2026_published"


def terms(settings: ScoringSettings) -> list[dict]:
    log_odds = settings.shi_log_odds()
    return [
        {"name": "mg_at_or_below_cutoff", "column": "mg_mmol_l", "transform": "at_or_below",
         "threshold": mg_cutoff_mmol_l(), "coefficient": log_odds["mg_at_or_below_cutoff"]},
        {"name": "beta_ctx_ng_ml", "column": "beta_ctx_ng_ml", "transform": "linear",
         "coefficient": log_odds["beta_ctx_ng_ml"]},
        {"name": "age_at_scan", "column": "age_at_scan", "transform": "linear", "coefficient": log_odds["age_at_scan"]},
        {"name": "bmi", "column": "bmi", "transform": "linear", "coefficient": log_odds["bmi"]},
    ]


def calibrate_intercept(linear_predictor: np.ndarray, outcome: np.ndarray) -> float:
    """The intercept b with mean(expit(b + lp)) = mean(outcome); monotone in b, so one root."""
    target = float(np.mean(outcome))
    return float(brentq(lambda b: float(np.mean(expit(b + linear_predictor))) - target, -100.0, 100.0,
                        xtol=1e-12, rtol=1e-12))


def fit(frame: Frame, settings: ScoringSettings) -> Fit:
    model_terms = terms(settings)
    matrix = design_matrix(model_terms, frame.columns)
    usable = ~np.isnan(matrix).any(axis=1) & ~np.isnan(frame.outcome)
    y = frame.outcome[usable]
    require_outcomes(NAME, y, settings, "estimate its intercept")
    coefficients = np.array([term["coefficient"] for term in model_terms])
    lp = matrix[usable] @ coefficients

    folds = patient_folds(frame.patient_key[usable], settings.cv_folds, settings.seed)
    held_out = np.empty(len(y))
    for fold in range(settings.cv_folds):
        test = folds == fold
        held_out[test] = expit(calibrate_intercept(lp[~test], y[~test]) + lp[test])

    intercept = calibrate_intercept(lp, y)
    apparent_mean = float(np.mean(expit(intercept + lp)))
    parameters = {
        "model": NAME,
        "kind": "logistic",
        "intercept": intercept,
        "intercept_method": "calibration_in_the_large",
        "terms": model_terms,
        "bands": probability_bands(settings),
        "missing_rule": "complete_case",
        "outcome": list(settings.outcome_categories),
    }
    metrics = {
        "evaluated": True,
        "evaluated_at": evaluated_at(),
        "validation": f"{settings.cv_folds}-fold cross-validation grouped by patient: the intercept is "
                      "re-estimated on each training part and applied to the held-out part",
        "out_of_sample": probability_metrics(held_out, y, settings.ci_z),
        "calibration_in_the_large": {"mean_predicted": apparent_mean, "observed_rate": float(y.mean()),
                                     "n_assessments": int(len(y)), "n_outcomes": int(y.sum())},
        "magnesium_alone": mg_alone_metrics(frame, settings),
    }
    return Fit(parameters=parameters, metrics=metrics, card=card(parameters, settings))


def card(parameters: dict, settings: ScoringSettings) -> dict:
    return {
        "title": "Shi et al. 2026 published multivariable model",
        "source": "Shi et al. 2026, Frontiers in Medicine: adjusted odds ratios of the multivariable logistic "
                  "model for osteoporosis (serum magnesium, beta-CTx, age, BMI).",
        "formula": "logit(p) = intercept + " + " + ".join(
            f"ln({settings.shi_odds_ratios[term['name']]}) x {_term_text(term)}" for term in parameters["terms"]),
        "odds_ratios": dict(settings.shi_odds_ratios),
        "intercept": "not published: estimated on this registry's assessments by calibration in the large "
                     "(mean predicted probability = observed rate of the outcome); the odds ratios are not "
                     "re-estimated",
        "unit_assumptions": "magnesium mmol/L (indicator at or below the dbt var mg_op_cutoff_at_or_below_mmol_l, "
                            f"{parameters['terms'][0]['threshold']}), beta-CTx ng/mL, age in whole years, "
                            "BMI kg/m2 from the scan's height and weight; the odds ratios are per these units",
        "missing_data": "complete cases: an assessment without any of the four predictors is not scored",
        "outcome": outcome_definition(settings),
        "evaluation": f"{settings.cv_folds}-fold cross-validation grouped by patient (out-of-sample)",
        "minimum_outcomes": settings.min_outcomes,
        "limitations": "Odds ratios from a single-centre case-control population; transported as published. "
                       "The probability bands are a registry convention.",
    }


def _term_text(term: dict) -> str:
    if term["transform"] == "at_or_below":
        return f"[{term['column']} <= {term['threshold']}]"
    return term["column"]


DEFINITION = ModelDefinition(name=NAME, title="Shi et al. 2026 published model", fitted=True, fit=fit)
