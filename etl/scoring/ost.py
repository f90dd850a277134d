"""`ost`: the Osteoporosis Self-assessment Tool as published (Koh et al., Osteoporos Int 2001).

Index = 0.2 x (body weight kg - age years), the digits after the decimal point dropped (setting
`ost_truncate`, default on, as the paper), banded on that integer: high < -4, moderate -4 to -1,
low > -1. The cut-offs come from postmenopausal Asian women; no sex-specific cut-offs for men
are adopted, so men get the index but no band, with the reason. Nothing is fitted: the version
changes only when a registry changes these settings. OST gives an index, not a probability, so
Brier score and calibration do not apply; its AUROC on the registry is out-of-sample.
"""
from __future__ import annotations

import numpy as np

from .evaluate import auroc_interval
from .frame import Frame
from .linear import apply
from .models import SYNTHETIC_NOTE, Fit, ModelDefinition, evaluated_at, mg_alone_metrics, outcome_definition
from .settings import ScoringSettings

NAME = "ost"
SOURCE = ("Koh LK, Sedrine WB, Torralba TP, et al. A simple tool to identify Asian women at increased risk of "
          "osteoporosis. Osteoporos Int 2001;12:699-705.")


def parameters(settings: ScoringSettings) -> dict:
    return {
        "model": NAME,
        "kind": "index",
        "intercept": 0.0,
        "terms": [
            {"name": "weight_kg", "column": "weight_kg", "transform": "linear", "coefficient": settings.ost_factor},
            {"name": "age_years", "column": "age_years", "transform": "linear", "coefficient": -settings.ost_factor},
        ],
        "score_decimals": settings.ost_score_decimals,
        "score_transform": "truncate" if settings.ost_truncate else None,
        "bands": {"on": "score",
                  "ranges": [{"label": "high", "below": settings.ost_high_below},
                             {"label": "moderate", "at_most": settings.ost_low_above},
                             {"label": "low"}],
                  "sexes": list(settings.ost_banded_sexes),
                  "unbanded_note": "no band: the OST cut-offs (Koh 2001) were derived in women and no "
                                   "sex-specific cut-offs for men are adopted"},
        "missing_rule": "complete_case",
    }


def metrics(params: dict, frame: Frame, settings: ScoringSettings) -> dict:
    applied = apply(params, frame.columns, frame.sex, frame.menopausal_status)
    usable = applied.scorable & ~np.isnan(frame.outcome)
    y = frame.outcome[usable]
    if y.sum() < 2 or (1 - y).sum() < 2:
        return {"evaluated": False, "reason": "too few assessments with and without osteoporosis",
                "evaluated_at": evaluated_at()}
    bands = applied.band[usable]
    by_band = {label: {"n_assessments": int((bands == label).sum()),
                       "observed_rate": float(y[bands == label].mean()) if (bands == label).any() else None}
               for label in [band["label"] for band in params["bands"]["ranges"]]}
    return {
        "evaluated": True,
        "evaluated_at": evaluated_at(),
        "validation": "none needed: OST has no parameters estimated on this registry, so its performance "
                      "here is out-of-sample",
        "out_of_sample": {
            **auroc_interval(-applied.score[usable], y, frame.patient_key[usable], settings.ci_z,
                             settings.bootstrap_replicates, settings.seed),   # lower index = higher risk
            "brier": None, "calibration_intercept": None, "calibration_slope": None,
            "not_applicable": "OST gives an index, not a probability: Brier score and calibration do not apply",
            "n_assessments": int(usable.sum()), "n_outcomes": int(y.sum()),
        },
        "observed_rate_by_band": by_band,
        "magnesium_alone": mg_alone_metrics(frame, settings),
    }


def card(params: dict, settings: ScoringSettings, rules: dict) -> dict:
    truncate = params.get("score_transform") == "truncate"
    return {
        "title": "Osteoporosis Self-assessment Tool (OST), as published",
        "source": SOURCE,
        "formula": f"index = {settings.ost_factor} x (weight_kg - age_years)"
                   + (", digits after the decimal point dropped (truncated to an integer, as Koh 2001)"
                      if truncate else ", not truncated (registry setting ost_truncate = false)"),
        "predictors": {"weight_kg": "body weight at the scan, kg", "age_years": "whole years at the scan"},
        "output": "an index (no probability); lower means higher risk",
        "bands": f"high < {settings.ost_high_below:g}; moderate {settings.ost_high_below:g} to "
                 f"{settings.ost_low_above:g}; low > {settings.ost_low_above:g} (Koh 2001, on the "
                 f"{'integer' if truncate else 'untruncated'} index)",
        "population": "developed in postmenopausal Asian women; banded for women only, men get the index "
                      "without a band (no sex-specific cut-offs adopted)",
        "missing_data": "complete cases: an assessment without weight or age is not scored (with the reason)",
        "outcome_for_evaluation": outcome_definition(rules),
        "evaluation": "AUROC of the index where the WHO criteria apply, with a patient-cluster bootstrap "
                      "interval when patients have several scans; OST is not fitted, so this is out-of-sample",
        "limitations": "Uses no laboratory value; the published cut-offs are for Asian postmenopausal women.",
        "metrics_note": SYNTHETIC_NOTE,
    }


def fit(frame: Frame, settings: ScoringSettings, rules: dict) -> Fit:
    params = parameters(settings)
    return Fit(parameters=params, metrics=metrics(params, frame, settings), card=card(params, settings, rules))


DEFINITION = ModelDefinition(name=NAME, title="Osteoporosis Self-assessment Tool", fitted=False, fit=fit,
                             fixed_parameters=parameters)
