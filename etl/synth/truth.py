"""The generator's known truth: the logistic model the outcome is drawn from, and its categories.

The outcome (osteoporosis at an assessment) is drawn from Shi et al. 2026's adjusted odds
ratios, so a model fitted on the marts should recover these coefficients and a risk score
should approach the generator's own AUROC. The thresholds here are how the generator *makes*
its data (which T-score it draws for which outcome), stated once; the registry's rules are dbt
vars, and tests compare the two.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from ..rules import dbt_var


@dataclass(frozen=True)
class TrueModel:
    """logit(p) = b0 + sum(coefficient * term); terms as in `terms()`."""

    # Shi et al. 2026 (Front Med), adjusted ORs: Mg <= 0.845 mmol/L 1.940, beta-CTx 2.229 per
    # ng/mL, age 1.067 per year, BMI 0.894 per kg/m2.
    odds_ratios: dict = field(default_factory=lambda: {
        "mg_at_or_below_cutoff": 1.940, "age_per_year": 1.067, "bmi_per_kg_m2": 0.894, "beta_ctx_per_ng_ml": 2.229})
    mg_cutoff_mmol_l: float = float(dbt_var("mg_op_cutoff_at_or_below_mmol_l"))  # Shi et al. 2026 cut-off
    age_centre: float = 65.0
    bmi_centre: float = 26.0
    # Solved so that about a third of this cohort's assessments are osteoporotic (mean p 0.325 at 20k
    # patients, seed 20261122), as in the postmenopausal study population.
    b0: float = -1.44

    @property
    def coefficients(self) -> dict[str, float]:
        return {name: math.log(ratio) for name, ratio in self.odds_ratios.items()}

    def terms(self, mg_mmol_l, age_years, bmi, beta_ctx_ng_ml) -> dict[str, np.ndarray]:
        return {
            "mg_at_or_below_cutoff": (np.asarray(mg_mmol_l) <= self.mg_cutoff_mmol_l).astype(np.float64),
            "age_per_year": np.asarray(age_years, dtype=np.float64) - self.age_centre,
            "bmi_per_kg_m2": np.asarray(bmi, dtype=np.float64) - self.bmi_centre,
            "beta_ctx_per_ng_ml": np.asarray(beta_ctx_ng_ml, dtype=np.float64),
        }

    def probability(self, mg_mmol_l, age_years, bmi, beta_ctx_ng_ml) -> np.ndarray:
        logit = np.full(np.shape(mg_mmol_l), self.b0, dtype=np.float64)
        coefficients = self.coefficients
        for name, term in self.terms(mg_mmol_l, age_years, bmi, beta_ctx_ng_ml).items():
            logit += coefficients[name] * term
        return 1.0 / (1.0 + np.exp(-logit))

    def to_dict(self) -> dict:
        return {**asdict(self), "coefficients": self.coefficients,
                "formula": "logit(p) = b0 + ln(OR_mg)*[mg <= cutoff] + ln(OR_age)*(age - 65) "
                           "+ ln(OR_bmi)*(bmi - 26) + ln(OR_bctx)*beta_ctx"}


MODEL = TrueModel()

# The clinical thresholds the truth is counted with are the dbt project's (etl.rules): the
# lowest of spine / femoral neck / total hip is at or below the osteoporosis T-score exactly when
# the drawn outcome is 1; normal from the normal T-score; ISCD's Z-score and age rules; Mg
# deficiency. The generator implements them in numpy, independently of the SQL it is checked
# against, but never restates their values.
OSTEOPOROSIS_T = float(dbt_var("who_osteoporosis_t_score_max"))
NORMAL_FROM_T = float(dbt_var("who_normal_t_score_min"))
ISCD_BELOW_Z = float(dbt_var("iscd_z_score_max_below_expected"))
ISCD_WHO_FROM_AGE = int(dbt_var("iscd_who_applies_from_age"))
MG_DEFICIENT_BELOW = float(dbt_var("mg_deficient_below_mmol_l"))


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
