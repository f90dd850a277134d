"""Shi et al. 2026 reproduced in the paper's population: postmenopausal women, one row per
patient (her latest qualifying assessment), labs collected before the scan.

The frame (from `population.shi_frame`, or any frame with these columns): `osteoporosis` (bool,
densitometric osteoporosis), `has_fragility_fracture`, `age_at_scan`, `bmi`, `weight_kg`,
`mg_mmol_l`, `phosphate_mmol_l`, `beta_ctx_ng_ml`, `p1np_ng_ml`, `calcium_mmol_l`,
`vitd_nmol_l`, `pth_ng_l`, the BMD columns and `manufacturer`. Every figure carries the counts it
was computed from and is withheld (None, with a reason) when one of them is a small cell.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from ..scoring.evaluate import calibration as calibration_in_the_large
from ..scoring.settings import DEFAULT as SCORING
from . import calibration, decision_curve, nomogram, roc
from .disclosure import releasable, small_cell_limit
from .logistic import OddsRatio, fit, odds_ratio
from .settings import DEFAULT, SHI_MG_CUTOFF_MMOL_L, AnalysisSettings
from .tables import GroupTable, compare

OUTCOME = "osteoporosis"
MG_CUT = "mg_at_or_below_0_845"
LABELS = {
    "age_at_scan": "Age, years", "bmi": "BMI, kg/m²", "mg_mmol_l": "Magnesium, mmol/L",
    "phosphate_mmol_l": "Phosphate, mmol/L", "beta_ctx_ng_ml": "β-CTx, ng/mL", "p1np_ng_ml": "P1NP, ng/mL",
    "calcium_mmol_l": "Calcium (total), mmol/L", "vitd_nmol_l": "25-OH vitamin D, nmol/L", "pth_ng_l": "PTH, ng/L",
}
TABLE_VARIABLES = ("age_at_scan", "bmi", "mg_mmol_l", "phosphate_mmol_l", "beta_ctx_ng_ml", "p1np_ng_ml")
BMD_COLUMNS = (("bmd_lumbar_spine", "BMD lumbar spine, g/cm²"), ("bmd_femoral_neck", "BMD femoral neck, g/cm²"),
               ("bmd_total_hip", "BMD total hip, g/cm²"))
# Markers of the ROC analysis; for both, a lower value is taken to mean osteoporosis (as the
# paper reads magnesium), stated before looking at the data.
ROC_MARKERS = (("mg_mmol_l", "magnesium"), ("phosphate_mmol_l", "phosphate"))


def prepare(frame: pd.DataFrame) -> pd.DataFrame:
    """Adds the paper's dichotomy (Mg <= 0.845 mmol/L, the paper's constant) as a 0/1 column."""
    mg = frame["mg_mmol_l"].astype("float64")
    return frame.assign(**{MG_CUT: np.where(mg.isna(), np.nan, (mg <= SHI_MG_CUTOFF_MMOL_L).astype(float))})


def adjusted_odds_ratios(frame: pd.DataFrame, settings: AnalysisSettings = DEFAULT,
                         alpha: float = 0.05) -> list[OddsRatio]:
    """Mg <= 0.845 and continuous Mg (per 0.1 mmol/L), each adjusted for the pre-specified covariates."""
    frame = prepare(frame)
    covariates = list(settings.shi_covariates)
    dichotomy = odds_ratio(frame, OUTCOME, MG_CUT, covariates, alpha, label=f"Mg <= {SHI_MG_CUTOFF_MMOL_L:g} mmol/L")
    continuous = odds_ratio(frame, OUTCOME, "mg_mmol_l", covariates, alpha, scale=settings.mg_step_mmol_l,
                            label=f"Mg per {settings.mg_step_mmol_l:g} mmol/L")
    limit = small_cell_limit()
    results = []
    for result in (dichotomy, continuous):
        exposed = [result.n_exposed, result.n - result.n_exposed] if result.n_exposed is not None else []
        if not releasable(result.n, result.n_outcomes, result.n - result.n_outcomes, *exposed, limit=limit):
            result = OddsRatio(result.term, None, None, None, None, 0, 0, None,
                               f"fewer than {limit} patients in a group")
        results.append(result)
    return results


@dataclass
class MarkerRoc:
    marker: str
    n: int | None
    n_outcomes: int | None
    auroc: roc.Auroc | None
    youden: roc.Youden | None
    paper_cutoff_sensitivity: float | None = None     # magnesium only: Mg <= 0.845
    paper_cutoff_specificity: float | None = None
    curve: pd.DataFrame | None = None
    reason: str | None = None


def marker_roc(frame: pd.DataFrame, column: str, name: str, alpha: float = 0.05) -> MarkerRoc:
    rows = frame.dropna(subset=[column, OUTCOME])
    values = rows[column].astype("float64").to_numpy()
    y = rows[OUTCOME].astype(bool).to_numpy()
    limit = small_cell_limit()
    if y.sum() < max(limit, 2) or (~y).sum() < max(limit, 2):
        return MarkerRoc(name, None, None, None, None, reason=f"fewer than {limit} patients with or without osteoporosis")
    area = roc.auroc(-values, y, alpha)
    cut = roc.youden(values, y, "at_or_below")
    fpr, tpr, thresholds = roc.roc_points(-values, y)
    result = MarkerRoc(name, len(y), int(y.sum()), area, cut,
                       curve=pd.DataFrame({"fpr": fpr, "tpr": tpr, "at_or_below": -thresholds}))
    if column == "mg_mmol_l":
        result.paper_cutoff_sensitivity = float((values[y] <= SHI_MG_CUTOFF_MMOL_L).mean())
        result.paper_cutoff_specificity = float((values[~y] > SHI_MG_CUTOFF_MMOL_L).mean())
    return result


def group_tables(frame: pd.DataFrame) -> dict[str, GroupTable]:
    """OP vs non-OP and fragility fracture vs none, with the paper's variables and BMD per manufacturer."""
    variables = [(c, LABELS[c]) for c in TABLE_VARIABLES]
    return {
        "osteoporosis": compare(frame, OUTCOME, {False: "no osteoporosis", True: "osteoporosis"}, variables,
                                BMD_COLUMNS),
        "fracture": compare(frame, "has_fragility_fracture", {False: "no fragility fracture",
                                                              True: "fragility fracture"}, variables, BMD_COLUMNS),
    }


@dataclass
class LocalModel:
    n: int
    n_outcomes: int
    odds_ratios: list[OddsRatio]
    nomogram: nomogram.Nomogram
    calibration: calibration.CalibrationCurve
    calibration_intercept: float
    calibration_slope: float
    decision: pd.DataFrame
    aurocs: dict[str, roc.Auroc]                          # out of sample, on the same patients
    comparisons: list[tuple[str, str, roc.PairedComparison]] = field(default_factory=list)


def local_model(frame: pd.DataFrame, settings: AnalysisSettings = DEFAULT, alpha: float = 0.05) -> LocalModel | str:
    """The nomogram's predictors refitted on the registry; out-of-sample calibration, decision curve
    and paired comparisons with OST, magnesium alone and age + BMI. A string says why not."""
    predictors = list(settings.local_model_predictors)
    needed = sorted({OUTCOME, *predictors, "weight_kg", "age_at_scan", "bmi", "mg_mmol_l"})
    complete = frame.dropna(subset=needed).reset_index(drop=True)
    y = complete[OUTCOME].astype(bool).to_numpy()
    limit = small_cell_limit()
    # Riley et al. 2020's rule of thumb floor: at least 10 events per candidate parameter.
    needed_events = max(limit, 10 * len(predictors))
    if min(y.sum(), (~y).sum()) < needed_events:
        return (f"{len(predictors)} predictors need at least {needed_events} patients with and without osteoporosis "
                "with every predictor recorded")
    result, _ = fit(complete, OUTCOME, predictors)
    if result is None:
        return "the local model could not be fitted on these patients"
    z = float(stats.norm.isf(alpha / 2))
    ratios = [OddsRatio(term, float(np.exp(result.params[term])), float(np.exp(result.params[term] - z * result.bse[term])),
                        float(np.exp(result.params[term] + z * result.bse[term])), float(result.pvalues[term]),
                        len(y), int(y.sum())) for term in predictors]
    picture = nomogram.build(float(result.params["const"]), {t: float(result.params[t]) for t in predictors},
                             nomogram.ranges_of(complete, predictors))
    predicted = calibration.cross_validated(complete, OUTCOME, predictors, settings.folds, settings.seed).to_numpy()
    age_bmi = calibration.cross_validated(complete, OUTCOME, ["age_at_scan", "bmi"], settings.folds,
                                          settings.seed).to_numpy()
    ost = SCORING.ost_factor * (complete["weight_kg"] - complete["age_at_scan"]).to_numpy(dtype=np.float64)
    scores = {"local model": predicted, "OST": -ost, "magnesium alone": -complete["mg_mmol_l"].to_numpy(np.float64),
              "age + BMI": age_bmi}
    aurocs = {name: roc.auroc(s, y, alpha) for name, s in scores.items()}
    comparisons = [("local model", other, roc.paired_delong(scores["local model"], scores[other], y, alpha))
                   for other in ("OST", "magnesium alone", "age + BMI")]
    curve = calibration.smoothed(predicted, y, settings.lowess_frac, settings.bootstrap, settings.seed,
                                 settings.curve_max_rows, alpha)
    in_large = calibration_in_the_large(predicted, y)
    return LocalModel(len(y), int(y.sum()), ratios, picture, curve, in_large["calibration_intercept"],
                      in_large["calibration_slope"],
                      decision_curve.net_benefit(predicted, y, settings.decision_thresholds), aurocs, comparisons)


@dataclass
class ShiResult:
    n: int
    odds_ratios: list[OddsRatio]
    rocs: list[MarkerRoc]
    tables: dict[str, GroupTable]
    model: LocalModel | str


def analyse(frame: pd.DataFrame, settings: AnalysisSettings = DEFAULT, alpha: float = 0.05) -> ShiResult:
    return ShiResult(len(frame), adjusted_odds_ratios(frame, settings, alpha),
                     [marker_roc(frame, c, name, alpha) for c, name in ROC_MARKERS], group_tables(frame),
                     local_model(frame, settings, alpha))
