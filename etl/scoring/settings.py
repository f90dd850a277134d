"""Every number the scoring step uses, each once with its source; a registry overrides any of them.

`load_settings({"min_outcomes": 100})` (or `score(..., settings=...)`) replaces a default. The
magnesium cut-off is not repeated here: it is the dbt var `mg_op_cutoff_at_or_below_mmol_l`,
read by `dbt_var`, so the flag in the marts and the models' magnesium term cannot disagree.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace


from ..errors import UsageError
from ..rules import dbt_var


@dataclass(frozen=True)
class ScoringSettings:
    # --- outcome -------------------------------------------------------------------------------
    # Registry contract section 6 / WHO 1994: osteoporosis is T <= -2.5 (severe: with a fracture)
    outcome_categories: tuple[str, ...] = ("osteoporosis", "severe_osteoporosis")

    # --- OST (Koh et al., Osteoporos Int 2001;12:699-705) ------------------------------------
    # Koh 2001: OST index = 0.2 x (body weight kg - age years)
    ost_factor: float = 0.2
    # Koh 2001 risk categories: high < -4, moderate -4 to < -1, low >= -1 (lower index = higher risk)
    ost_band_cuts: tuple[float, ...] = (-4.0, -1.0)
    ost_band_labels: tuple[str, ...] = ("high", "moderate", "low")
    # Technical: the index is rounded to this many decimals to drop the multiplication's
    # floating-point noise (weights come with one decimal, ages are whole years)
    ost_score_decimals: int = 10

    # --- Shi et al. 2026 (Front Med), multivariable logistic model, adjusted odds ratios --------
    # Shi 2026 adjusted ORs: Mg <= 0.845 mmol/L 1.940; beta-CTx 2.229 per ng/mL;
    # age OR 1.067 per year; BMI OR 0.894 per kg/m2
    shi_odds_ratios: dict = field(default_factory=lambda: {
        "mg_at_or_below_cutoff": 1.940, "beta_ctx_ng_ml": 2.229, "age_at_scan": 1.067, "bmi": 0.894})
    # Shi 2026: single-marker ROC for magnesium, AUC 0.602 at the cut-off 0.845 (for comparison in cards)
    shi_mg_alone_auc: float = 0.602

    # --- fitting and evaluation (PROBAST / TRIPOD practice; registry choices) ----------------
    # osteoreg issue 5: a model is not fitted or recalibrated on fewer than 50 outcomes (nor on
    # fewer than 50 assessments without it), too few for a stable intercept and useful metrics
    min_outcomes: int = 50
    # Registry choice: k-fold cross-validation (grouped by patient) for out-of-sample metrics
    cv_folds: int = 5
    # Registry choice: inner folds and grid size for choosing the lasso penalty
    lasso_inner_folds: int = 5
    lasso_n_penalties: int = 20
    # Registry choice: fitting uses a random sample of at most this many assessments (applying
    # the model always covers every assessment)
    max_fit_rows: int = 200_000
    # Registry choice: the seed of every random step (folds, sampling), so a refit on the same
    # data gives the same parameters and therefore the same model version
    seed: int = 20261122
    # Two-sided 95% intervals: z = 97.5th percentile of the standard normal distribution
    ci_z: float = 1.959963984540054

    # --- risk bands for the models that give a probability -------------------------------------
    # Registry convention, not a guideline (neither paper gives bands): low < 20%, moderate
    # 20% to < 50%, high >= 50% predicted probability of densitometric osteoporosis
    probability_band_cuts: tuple[float, ...] = (0.20, 0.50)
    probability_band_labels: tuple[str, ...] = ("low", "moderate", "high")

    def shi_log_odds(self) -> dict[str, float]:
        return {name: math.log(ratio) for name, ratio in self.shi_odds_ratios.items()}


DEFAULT = ScoringSettings()


def load_settings(overrides: dict | None = None) -> ScoringSettings:
    """The defaults with a registry's overrides; an unknown name is a usage error, not ignored."""
    if not overrides:
        return DEFAULT
    known = {f.name for f in fields(ScoringSettings)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise UsageError(f"Unknown scoring setting(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}.")
    values = {key: tuple(value) if isinstance(value, list) else value for key, value in overrides.items()}
    return replace(DEFAULT, **values)


def mg_cutoff_mmol_l() -> float:
    return float(dbt_var("mg_op_cutoff_at_or_below_mmol_l"))
