"""`ost`: the Osteoporosis Self-assessment Tool, 0.2 x (weight kg - age years) (Koh et al. 2001).

Nothing is fitted: the index and its bands are the published ones (settings), so the version
changes only when a registry changes those settings. Weight is the scan's own weight; age is
`age_at_scan`. OST gives an index, not a probability, so Brier score and calibration do not
apply; its AUROC on the registry is already out-of-sample.
"""
from __future__ import annotations

import numpy as np

from .evaluate import auroc_delong
from .frame import Frame
from .linear import apply
from .models import Fit, ModelDefinition, evaluated_at, mg_alone_metrics, outcome_definition
from .settings import ScoringSettings

NAME = "ost"


def parameters(settings: ScoringSettings) -> dict:
    return {
        "model": NAME,
        "kind": "index",
        "intercept": 0.0,
        "terms": [
            {"name": "weight_kg", "column": "weight_kg", "transform": "linear", "coefficient": settings.ost_factor},
            {"name": "age_at_scan", "column": "age_at_scan", "transform": "linear",
             "coefficient": -settings.ost_factor},
        ],
        "score_decimals": settings.ost_score_decimals,
        "bands": {"on": "score", "cuts": list(settings.ost_band_cuts), "labels": list(settings.ost_band_labels)},
        "missing_rule": "complete_case",
    }


def metrics(params: dict, frame: Frame, settings: ScoringSettings) -> dict:
    applied = apply(params, frame.columns)
    usable = applied.scorable & ~np.isnan(frame.outcome)
    y = frame.outcome[usable]
    if y.sum() < 2 or (1 - y).sum() < 2:
        return {"evaluated": False, "reason": "too few assessments with and without osteoporosis",
                "evaluated_at": evaluated_at()}
    bands = applied.band[usable]
    by_band = {label: {"n_assessments": int((bands == label).sum()),
                       "observed_rate": float(y[bands == label].mean()) if (bands == label).any() else None}
               for label in params["bands"]["labels"]}
    return {
        "evaluated": True,
        "evaluated_at": evaluated_at(),
        "validation": "none needed: OST has no parameters estimated on this registry, so its performance "
                      "here is out-of-sample",
        "out_of_sample": {
            **auroc_delong(-applied.score[usable], y, settings.ci_z),   # lower index = higher risk
            "brier": None, "calibration_intercept": None, "calibration_slope": None,
            "not_applicable": "OST gives an index, not a probability: Brier score and calibration do not apply",
            "n_assessments": int(usable.sum()), "n_outcomes": int(y.sum()),
        },
        "observed_rate_by_band": by_band,
        "magnesium_alone": mg_alone_metrics(frame, settings),
    }


def card(params: dict, settings: ScoringSettings) -> dict:
    cuts, labels = params["bands"]["cuts"], params["bands"]["labels"]
    return {
        "title": "Osteoporosis Self-assessment Tool (OST)",
        "source": "Koh LK et al. A simple tool to identify Asian women at increased risk of osteoporosis. "
                  "Osteoporos Int 2001;12:699-705.",
        "formula": f"score = {settings.ost_factor} x (weight_kg - age_at_scan)",
        "predictors": {"weight_kg": "body weight at the scan, kg", "age_at_scan": "whole years at the scan"},
        "output": "an index (no probability); lower means higher risk",
        "bands": f"{labels[0]} < {cuts[0]}; {labels[1]} {cuts[0]} to < {cuts[1]}; {labels[2]} >= {cuts[1]}",
        "missing_data": "complete cases: an assessment without weight or age is not scored",
        "outcome_for_evaluation": outcome_definition(settings),
        "evaluation": "AUROC (DeLong 95% CI) of the index on all assessments with a known outcome; "
                      "OST is not fitted, so this is out-of-sample",
        "limitations": "Developed in postmenopausal Asian women; uses no laboratory value.",
    }


def fit(frame: Frame, settings: ScoringSettings):
    params = parameters(settings)
    return Fit(parameters=params, metrics=metrics(params, frame, settings), card=card(params, settings))


DEFINITION = ModelDefinition(name=NAME, title="Osteoporosis Self-assessment Tool", fitted=False, fit=fit,
                             fixed_parameters=parameters)
