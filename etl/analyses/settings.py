"""The analyses' own choices (not clinical rules, which are dbt vars): each with why it is so.

The studies' published figures are here too, as the papers state them, so the "side by side"
table and the tests read them from one place.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..scoring.settings import DEFAULT as SCORING


@dataclass(frozen=True)
class PublishedFigure:
    figure: str
    estimate: float
    ci_low: float | None
    ci_high: float | None
    population: str
    source: str


# Shi et al. 2026 (Front Med), abstract: retrospective cohort of 496 hospitalised postmenopausal women.
SHI_SOURCE = "Shi et al. 2026, Frontiers in Medicine (abstract): 496 hospitalised postmenopausal women"
# Ali et al. 2025: cross-sectional study of 212 adults (both sexes).
ALI_SOURCE = "Ali et al. 2025: cross-sectional study of 212 adults"
SHI_POPULATION = "postmenopausal women"
ALI_POPULATION = "adults, both sexes"

# The paper's own cut-off (its ROC analysis), used for the reproduction whatever the registry's
# var `mg_op_cutoff_at_or_below_mmol_l` says: the point is to compare with the paper. The constant
# is stated once, beside the published model that uses it (etl/scoring/settings.py).
SHI_MG_CUTOFF_MMOL_L = SCORING.shi_mg_cutoff_mmol_l
SHI_MG_OR = PublishedFigure("adjusted OR, Mg <= 0.845 mmol/L", 1.940, 1.312, 2.868, SHI_POPULATION, SHI_SOURCE)
SHI_MG_AUC = PublishedFigure("AUROC of magnesium alone", 0.602, 0.551, 0.652, SHI_POPULATION, SHI_SOURCE)
SHI_N = 496
ALI_N = 212


@dataclass(frozen=True)
class AnalysisSettings:
    # Shi's pre-specified covariates of the adjusted model (the list; the abstract does not
    # give the full list, so this is the registry's reading of it).
    shi_covariates: tuple[str, ...] = ("age_at_scan", "bmi", "beta_ctx_ng_ml", "phosphate_mmol_l", "p1np_ng_ml",
                                       "calcium_mmol_l", "vitd_nmol_l", "pth_ng_l")
    # The nomogram's six predictors (Shi et al., LASSO selection): the local model uses the same ones.
    local_model_predictors: tuple[str, ...] = ("age_at_scan", "bmi", "mg_mmol_l", "phosphate_mmol_l",
                                               "beta_ctx_ng_ml", "p1np_ng_ml")
    # Continuous magnesium is reported per 0.1 mmol/L (a clinically sized step; 1 mmol/L is beyond range).
    mg_step_mmol_l: float = 0.1
    # Out-of-sample predictions by 5-fold cross-validation over patients (one row per patient here).
    folds: int = 5
    # Bootstrap resamples for the calibration band (percentile band; 200 is enough for a drawn band).
    bootstrap: int = 200
    # The calibration curve and its band are fitted on at most this many patients (a random sample,
    # seeded), so the snapshot is written in seconds at any registry size; metrics use all patients.
    curve_max_rows: int = 10_000
    # LOWESS span of the smoothed calibration curve (Austin & Steyerberg, Stat Med 2014, use 2/3).
    lowess_frac: float = 2 / 3
    # Decision-curve thresholds: 1% to 60% by 1% (Vickers & Elkin, Med Decis Making 2006).
    decision_thresholds: tuple[float, ...] = tuple(round(0.01 * i, 2) for i in range(1, 61))
    # Standard population for the standardised prevalence: "esp2013" (seed
    # european_standard_population_2013, split equally by sex) or "registry_pooled" (the registry's
    # own patients over all years, by sex and age band).
    standard_population: str = "esp2013"
    # Above this many patients a study's population is analysed on a seeded random sample of them
    # (uniform, so rates and calibration stay as they are; intervals widen): logistic fits and
    # cross-validation then take seconds at any registry size. `analyses.populations` says both counts.
    max_patients: int = 50_000
    seed: int = 20261202


DEFAULT = AnalysisSettings()
STANDARDS = ("esp2013", "registry_pooled")
