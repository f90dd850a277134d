"""Every number the scoring step uses, each once with its source; a registry overrides any of them.

`load_settings({"min_outcomes": 100})` (or `score(..., settings=...)`) replaces a default.
Registry rules are not repeated here: the outcome is the mart column
`fct_bmd_assessment.is_densitometric_osteoporosis` (where `who_criteria_apply`), the local
model's magnesium dichotomy is the mart flag `mg_below_op_cutoff`, and the cards state those
rules' values from `marts.rules_in_effect`. A published model's own constants (Shi et al.'s
0.845 mmol/L, Koh's OST cut-offs) are the paper's and stay here, named as the paper's.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace

from ..errors import UsageError


@dataclass(frozen=True)
class ScoringSettings:
    # --- OST (Koh LK et al., Osteoporos Int 2001;12:699-705) ----------------------------------
    # Koh 2001: OST index = 0.2 x (body weight kg - age years), digits after the decimal point dropped
    ost_factor: float = 0.2
    # Koh 2001: the index is truncated to an integer before it is banded (setting: False bands the raw index)
    ost_truncate: bool = True
    # Koh 2001 risk categories on the (truncated) index: high < -4, moderate -4 to -1, low > -1
    ost_high_below: float = -4.0
    ost_low_above: float = -1.0
    # Koh 2001 derived the cut-offs in postmenopausal Asian women; no sex-specific cut-offs for
    # men are adopted, so men get the index but no band (with that reason)
    ost_banded_sexes: tuple[str, ...] = ("F",)
    # Technical: the index is rounded to this many decimals before truncation, to drop the
    # multiplication's floating-point noise (so 0.2 x (50 - 70) is exactly -4, not -3.999...)
    ost_score_decimals: int = 10

    # --- Shi et al. 2026 (Front Med), abstract: adjusted ORs (95% CI) --------------------------
    # Mg <= 0.845 mmol/L 1.940 (1.312-2.868); beta-CTx 2.229 (1.034-4.809), unit not stated
    # (ng/mL assumed); age 1.067 (1.042-1.092) per year; BMI 0.894 (0.846-0.945) per kg/m2
    shi_odds_ratios: dict = field(default_factory=lambda: {
        "mg_at_or_below_0_845": (1.940, 1.312, 2.868), "beta_ctx_ng_ml": (2.229, 1.034, 4.809),
        "age_years": (1.067, 1.042, 1.092), "bmi": (0.894, 0.846, 0.945)})
    # Shi 2026: the ROC cut-off of serum magnesium, a constant of the published model (not the
    # registry's var mg_op_cutoff_at_or_below_mmol_l, which a registry may change)
    shi_mg_cutoff_mmol_l: float = 0.845
    # Shi 2026: single-marker ROC for magnesium, AUC 0.602 (for comparison in cards)
    shi_mg_alone_auc: float = 0.602
    # Shi 2026: a retrospective cohort of 496 hospitalised postmenopausal women; the model scores
    # only that population (others get no score, with the reason)
    shi_population: dict = field(default_factory=lambda: {"sex": "F", "menopausal_status": "post"})

    # --- local model ---------------------------------------------------------------------------
    # Harrell, Regression Modeling Strategies (2015) 2.4.6: 4 knots at the 5th, 35th, 65th and
    # 95th percentiles for a restricted cubic spline
    mg_spline_knot_quantiles: tuple[float, ...] = (0.05, 0.35, 0.65, 0.95)
    # Penalty choice: "1se" (Hastie, Tibshirani, Friedman, ESL 2009 7.10: the largest penalty
    # within one standard error of the best cross-validated log-loss) or "min"
    lasso_penalty_rule: str = "1se"
    # Riley et al., BMJ 2020;368:m441: anticipated Nagelkerke R2 when nothing better is known
    # (their conservative default: 15% of the maximum Cox-Snell R2), target shrinkage 0.9,
    # optimism in R2 at most 0.05, outcome proportion within +-0.05
    riley_r2_nagelkerke: float = 0.15
    riley_shrinkage: float = 0.9
    riley_optimism: float = 0.05
    riley_margin: float = 0.05
    # What a too-small sample does: "warn" (fit, with the sentence on the card and the run) or "refuse"
    riley_action: str = "warn"

    # --- fitting and evaluation (PROBAST / TRIPOD practice; registry choices) ----------------
    # osteoreg issue 5: a model is not fitted or recalibrated on fewer than 50 outcomes (nor on
    # fewer than 50 assessments without it)
    min_outcomes: int = 50
    # Registry choice: k-fold cross-validation (grouped by patient) for out-of-sample metrics
    cv_folds: int = 5
    # Registry choice: inner folds and grid size for choosing the lasso penalty
    lasso_inner_folds: int = 3
    lasso_n_penalties: int = 10
    # Registry choice: fitting uses a sample of at most this many assessments, stratified by the
    # outcome (applying the model always covers every assessment)
    max_fit_rows: int = 10_000
    # Registry choice: patient-cluster bootstrap replicates for AUROC intervals
    bootstrap_replicates: int = 500
    # Registry choice: the seed of every random step (folds, sampling, bootstrap)
    seed: int = 20261122
    # Two-sided 95% intervals: z = 97.5th percentile of the standard normal distribution
    ci_z: float = 1.959963984540054

    # --- risk bands for the models that give a probability -------------------------------------
    # Registry convention, not a guideline (neither paper gives bands): low < 20%, moderate
    # 20% to < 50%, high >= 50% estimated probability of densitometric osteoporosis
    probability_band_cuts: tuple[float, ...] = (0.20, 0.50)
    probability_band_labels: tuple[str, ...] = ("low", "moderate", "high")

    # --- pre-DXA triage ------------------------------------------------------------------------
    # Registry choice: the model whose score ranks the DXA referral candidates
    triage_model: str = "local_lasso"
    # Registry choice: the drivers listed per candidate (largest positive contributions)
    triage_drivers: int = 3

    def shi_log_odds(self) -> dict[str, float]:
        return {name: math.log(values[0]) for name, values in self.shi_odds_ratios.items()}


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
