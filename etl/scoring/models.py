"""The registry's risk models as named objects: each builds its parameters, metrics and card.

Like OHDSI PatientLevelPrediction, a model is designed (its definition here), evaluated
(out-of-sample metrics), saved (`store`), applied (`linear.apply`) and re-validated (`--refit`).
A fixed model (OST) has nothing to fit; the fitted ones refuse, with one sentence, when the
registry has too few outcomes to estimate them.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

import numpy as np

from ..errors import OsteoregError
from .evaluate import magnesium_alone
from .frame import Frame
from .settings import ScoringSettings


class InsufficientOutcomes(OsteoregError):
    """Too few outcomes (or non-outcomes) to fit or recalibrate a model."""


@dataclass
class Fit:
    parameters: dict
    metrics: dict
    card: dict


@dataclass(frozen=True)
class ModelDefinition:
    name: str
    title: str
    fitted: bool                                   # False: parameters do not depend on data
    fit: Callable[[Frame, ScoringSettings], Fit]
    # A fixed model's parameters from the settings alone (its version without any data); None
    # for fitted models.
    fixed_parameters: Callable[[ScoringSettings], dict] | None = None


def require_outcomes(model_name: str, outcome: np.ndarray, settings: ScoringSettings, purpose: str) -> None:
    positives = int(np.nansum(outcome))
    negatives = int(np.sum(outcome == 0))
    if positives < settings.min_outcomes:
        raise InsufficientOutcomes(
            f"The {model_name} model needs at least {settings.min_outcomes} assessments with osteoporosis "
            f"to {purpose}, and the registry has {positives}.")
    if negatives < settings.min_outcomes:
        raise InsufficientOutcomes(
            f"The {model_name} model needs at least {settings.min_outcomes} assessments without osteoporosis "
            f"to {purpose}, and the registry has {negatives}.")


def evaluated_at() -> str:
    return datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0).isoformat()


def mg_alone_metrics(frame: Frame, settings: ScoringSettings) -> dict:
    return magnesium_alone(frame.columns["mg_mmol_l"], frame.outcome, settings.ci_z, settings.shi_mg_alone_auc)


def outcome_definition(settings: ScoringSettings) -> str:
    return (f"who_category in ({', '.join(settings.outcome_categories)}) at the same assessment "
            "(densitometric osteoporosis, T-score <= -2.5 at spine, femoral neck or total hip)")


def probability_bands(settings: ScoringSettings) -> dict:
    return {"on": "probability", "cuts": list(settings.probability_band_cuts),
            "labels": list(settings.probability_band_labels)}
