"""What every risk model shares: its result, refusals, the outcome text, bands and population.

Like OHDSI PatientLevelPrediction, a model is designed (its module), evaluated (out-of-sample
metrics), saved (`store`), applied (`sql`) and re-validated (`--refit`). A fixed model (OST) has
nothing to fit; the fitted ones refuse, with one sentence, when the registry has too few outcomes
or when the numbers cannot be fitted (singular or non-finite), and the other models go on.
The list of models is `registry.py` (so this module imports none of them).
"""
from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone

import numpy as np

from ..errors import OsteoregError
from .evaluate import magnesium_alone
from .frame import Frame
from .settings import ScoringSettings


class ModelRefused(OsteoregError):
    """A model that cannot be fitted on this registry's data; the message is one sentence."""


class InsufficientOutcomes(ModelRefused):
    """Too few outcomes (or non-outcomes) to fit or recalibrate a model."""


@dataclass
class Fit:
    parameters: dict
    metrics: dict
    card: dict
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ModelDefinition:
    name: str
    title: str
    fitted: bool                                   # False: parameters do not depend on data
    fit: Callable[[Frame, ScoringSettings, dict], Fit]
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


_MG_ALONE_CACHE: dict[bytes, dict] = {}


def mg_alone_metrics(frame: Frame, settings: ScoringSettings) -> dict:
    """Magnesium alone on the frame's rows. OST and the lasso evaluate it on the same training
    rows, so the result (a 500-replicate bootstrap) is kept for the same content and settings."""
    mg, outcome = frame.columns["mg_mmol_l"], frame.outcome
    key = hashlib.sha256(b"".join([
        np.ascontiguousarray(mg, dtype=np.float64).tobytes(), np.ascontiguousarray(outcome, dtype=np.float64).tobytes(),
        "\0".join(map(str, frame.patient_key)).encode("utf-8"),
        repr((settings.ci_z, settings.bootstrap_replicates, settings.seed, settings.shi_mg_alone_auc)).encode()])).digest()
    if key not in _MG_ALONE_CACHE:
        if len(_MG_ALONE_CACHE) >= 4:
            _MG_ALONE_CACHE.clear()
        _MG_ALONE_CACHE[key] = magnesium_alone(mg, outcome, frame.patient_key, settings, settings.shi_mg_alone_auc)
    return copy.deepcopy(_MG_ALONE_CACHE[key])


def outcome_definition(rules: dict) -> str:
    """The outcome as the build defined it (values from marts.rules_in_effect)."""
    return ("estimated probability of densitometric osteoporosis: fct_bmd_assessment.is_densitometric_osteoporosis "
            f"(who_category osteoporosis or severe_osteoporosis, minimum T-score <= "
            f"{rules.get('who_osteoporosis_t_score_max')} at spine, femoral neck or total hip) at the same "
            f"assessment, counted only where the WHO criteria apply (age >= {rules.get('iscd_who_applies_from_age')} "
            "or postmenopausal, ISCD); predictors only from before the scan (labs on or before it, within "
            f"{rules.get('prescan_lab_window_days')} days)")


def probability_bands(settings: ScoringSettings) -> dict:
    cuts, labels = settings.probability_band_cuts, settings.probability_band_labels
    return {"on": "probability",
            "ranges": [{"label": label, "below": cut} for label, cut in zip(labels, cuts)] + [{"label": labels[-1]}]}


# Every card says what the demo's figures are (osteoreg issue 15: the synthetic truth is no
# candidate model, so its metrics test the pipeline, not the model's clinical worth).
SYNTHETIC_NOTE = ("On the synthetic demo cohort these metrics are a recovery check (the pipeline against the "
                  "generator's known truth), not evidence of clinical performance.")
