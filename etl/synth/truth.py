"""The generator's known truth: the model the outcome is drawn from, and its categories.

The truth is deliberately *no* candidate model of the registry (osteoreg issue 15), so the demo's
metrics are a recovery check, not a model validated against itself:
- magnesium acts through a smooth, non-linear curve (a logistic step around 0.78 mmol/L that
  flattens on both sides), neither Shi et al.'s dichotomy at 0.845 nor a spline with the
  registry's knots;
- phosphate (lower: higher risk) and P1NP (higher turnover: higher risk) have effects of their
  own, beside age and beta-CTx; BMI has none (so the abstract-OR score, which uses BMI, is
  misspecified here, as a transported score would be);
- after a diagnosis (the first assessment drawn osteoporotic), treatment moves the patient's
  later results: antiresorptives lower beta-CTx and P1NP, supplements raise 25-OH vitamin D. So a
  model fed post-scan labs would learn a consequence of the outcome; the registry's pre-scan
  marts must not see it.
The outcome of a scan is drawn from its own collection's values as measured up to that scan:
untreated for a first scan (even when the collection came after it, where the files then show
the treated value), and as treated by an earlier diagnosis for a second scan. `TRUE_EFFECTS` are the log-odds per unit the pipeline's
local model should recover (tests/scoring; H16's analyses use them too).

The thresholds here are how the generator *makes* its data (which T-score it draws for which
outcome); they are the dbt project's values (etl.rules), never restated, and tests compare.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from ..rules import dbt_var


@dataclass(frozen=True)
class TrueModel:
    """logit(p) = b0 + mg_effect(mg) + sum(coefficient x (value - centre)) over the linear terms."""

    # Magnesium: mg_height / (1 + exp((mg - mg_midpoint) / mg_width)), log-odds
    mg_height: float = 1.3
    mg_midpoint_mmol_l: float = 0.78
    mg_width_mmol_l: float = 0.035
    # Linear effects, log-odds per unit (centred at the cohort's typical value)
    age_per_year: float = 0.055
    phosphate_per_mmol_l: float = -2.0
    p1np_per_ng_ml: float = 0.025
    beta_ctx_per_ng_ml: float = 1.2
    age_centre: float = 65.0
    phosphate_centre: float = 1.1
    p1np_centre: float = 50.0
    # Solved so that about a third of the cohort's assessments are osteoporotic (seed 20261122)
    b0: float = -1.55
    # Treatment after a diagnosis, on every later result of the patient: antiresorptives suppress
    # bone turnover markers by about half, supplements raise 25-OH vitamin D
    treated_beta_ctx_factor: float = 0.45
    treated_p1np_factor: float = 0.55
    treated_vitd_plus_nmol_l: float = 25.0

    @property
    def coefficients(self) -> dict[str, float]:
        """Log-odds per unit of each linear term (the magnesium curve has no single coefficient)."""
        return {"age_years": self.age_per_year, "phosphate_mmol_l": self.phosphate_per_mmol_l,
                "p1np_ng_ml": self.p1np_per_ng_ml, "beta_ctx_ng_ml": self.beta_ctx_per_ng_ml}

    def mg_effect(self, mg_mmol_l) -> np.ndarray:
        mg = np.asarray(mg_mmol_l, dtype=np.float64)
        return self.mg_height / (1.0 + np.exp((mg - self.mg_midpoint_mmol_l) / self.mg_width_mmol_l))

    def terms(self, mg_mmol_l, age_years, phosphate_mmol_l, p1np_ng_ml, beta_ctx_ng_ml) -> dict[str, np.ndarray]:
        """Each term's value; logit = b0 + mg_effect + sum(coefficient x term)."""
        return {
            "mg_effect": self.mg_effect(mg_mmol_l),
            "age_years": np.asarray(age_years, dtype=np.float64) - self.age_centre,
            "phosphate_mmol_l": np.asarray(phosphate_mmol_l, dtype=np.float64) - self.phosphate_centre,
            "p1np_ng_ml": np.asarray(p1np_ng_ml, dtype=np.float64) - self.p1np_centre,
            "beta_ctx_ng_ml": np.asarray(beta_ctx_ng_ml, dtype=np.float64),
        }

    def probability(self, mg_mmol_l, age_years, phosphate_mmol_l, p1np_ng_ml, beta_ctx_ng_ml) -> np.ndarray:
        terms = self.terms(mg_mmol_l, age_years, phosphate_mmol_l, p1np_ng_ml, beta_ctx_ng_ml)
        logit = self.b0 + terms.pop("mg_effect")
        for name, value in terms.items():
            logit = logit + self.coefficients[name] * value
        return 1.0 / (1.0 + np.exp(-logit))

    def to_dict(self) -> dict:
        return {**asdict(self), "coefficients": self.coefficients,
                "formula": "logit(p) = b0 + mg_height / (1 + exp((mg - mg_midpoint) / mg_width)) "
                           "+ age_per_year*(age - 65) + phosphate_per_mmol_l*(P - 1.1) "
                           "+ p1np_per_ng_ml*(P1NP - 50) + beta_ctx_per_ng_ml*beta_ctx; untreated values of the "
                           "assessment's own collection; BMI has no effect"}


MODEL = TrueModel()
# Log-odds per unit the pipeline's local model should recover (osteoreg issue 15, H16).
TRUE_EFFECTS = MODEL.coefficients

# The clinical thresholds the truth is counted with are the dbt project's (etl.rules): the
# lowest of spine / femoral neck / total hip is at or below the osteoporosis T-score exactly when
# the drawn outcome is 1; normal from the normal T-score; ISCD's Z-score and age rules; Mg
# deficiency and the registry's Mg cut-off (for the manifest's expected flag counts). The
# generator implements them in numpy, independently of the SQL it is checked against, but never
# restates their values.
OSTEOPOROSIS_T = float(dbt_var("who_osteoporosis_t_score_max"))
NORMAL_FROM_T = float(dbt_var("who_normal_t_score_min"))
ISCD_BELOW_Z = float(dbt_var("iscd_z_score_max_below_expected"))
ISCD_WHO_FROM_AGE = int(dbt_var("iscd_who_applies_from_age"))
MG_DEFICIENT_BELOW = float(dbt_var("mg_deficient_below_mmol_l"))
MG_OP_CUTOFF = float(dbt_var("mg_op_cutoff_at_or_below_mmol_l"))


def who_category(min_t: np.ndarray, fragility_before: np.ndarray) -> np.ndarray:
    osteoporotic = min_t <= OSTEOPOROSIS_T
    return np.where(osteoporotic & fragility_before, "severe_osteoporosis",
                    np.where(osteoporotic, "osteoporosis",
                             np.where(min_t < NORMAL_FROM_T, "osteopenia", "normal")))


def iscd_category(who: np.ndarray, age: np.ndarray, postmenopausal: np.ndarray, min_z: np.ndarray) -> np.ndarray:
    by_who = (age >= ISCD_WHO_FROM_AGE) | postmenopausal
    by_z = np.where(min_z <= ISCD_BELOW_Z, "below_expected_range_for_age", "within_expected_range_for_age")
    return np.where(by_who, who, by_z)


def auroc(scores: np.ndarray, outcomes: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney, ties counted half); nan when one class is empty."""
    from scipy.stats import rankdata

    outcomes = np.asarray(outcomes, dtype=bool)
    positives, negatives = int(outcomes.sum()), int((~outcomes).sum())
    if positives == 0 or negatives == 0:
        return float("nan")
    ranks = rankdata(scores)
    return float((ranks[outcomes].sum() - positives * (positives + 1) / 2) / (positives * negatives))
