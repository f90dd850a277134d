"""`local_lasso`: the registry's own pre-scan model (Shi et al.'s method, made sounder).

1. Candidates: age, sex, magnesium as a restricted cubic spline (continuous, non-linear; Harrell
   knots) beside the registry's dichotomy (the mart flag `mg_below_op_cutoff`), phosphate,
   calcium, 25-OH vitamin D, PTH, CRP, beta-CTx, P1NP; all labs pre-scan. No weight or BMI, so the
   model also scores patients before any DXA (pre-DXA triage).
2. Missing values: an empty lab value takes the training median and `<variable>_missing` = 1.
   An indicator only ever enters with its variable (selected alone, it is dropped).
3. Minimum sample size (Riley et al. 2020) for the candidate parameters: too few warns or
   refuses (setting `riley_action`), in one sentence.
4. Selection: L1-penalised logistic regression on standardised candidates, the penalty chosen by
   patient-grouped cross-validation with the one-standard-error rule (setting
   `lasso_penalty_rule`): the strongest penalty whose log-loss is within one SE of the best.
   A variable is in when any of its terms is (the spline enters whole).
5. Refit: unpenalised logistic regression on the selected terms, with standard errors clustered
   by patient (repeated scans of a patient are not independent). A fit that fails (singular,
   separated, non-finite) is refused in one sentence.

Out-of-sample metrics: the whole procedure (knots, imputation, penalty, selection, refit) is
repeated in each of k patient-grouped folds and scored on the held-out fold.
"""
from __future__ import annotations

import warnings

import numpy as np

from .evaluate import patient_folds, probability_metrics
from .frame import Frame, days_before_distribution
from .linear import apply, design_matrix, term_values
from .models import (SYNTHETIC_NOTE, Fit, ModelDefinition, ModelRefused, evaluated_at, mg_alone_metrics,
                     outcome_definition, probability_bands, require_outcomes)
from .samplesize import riley_minimum, sentence
from .settings import ScoringSettings

NAME = "local_lasso"
SOLVER = "liblinear"     # exact L1 path for small to medium data
INTERCEPT_SCALING = 100.0  # liblinear penalises the intercept; a large scaling makes that negligible
LAB_COLUMNS = ("phosphate_mmol_l", "calcium_mmol_l", "vitd_nmol_l", "pth_ng_l", "crp_mg_l", "beta_ctx_ng_ml",
               "p1np_ng_ml")


def _linear(column: str, variable: str | None = None) -> dict:
    return {"name": column, "column": column, "transform": "linear", "variable": variable or column}


def candidates(frame: Frame, settings: ScoringSettings) -> tuple[list[dict], list[str]]:
    """Candidate terms with their training medians, spline knots and missing indicators; a
    variable with no value at all in the training data is left out (named in the second list)."""
    terms, dropped = [], []

    def add(variable_terms: list[dict], column: str, indicator_of: list[str]) -> None:
        values = frame.columns[column]
        missing = np.isnan(values)
        if missing.all():
            dropped.extend(term["name"] for term in variable_terms)
            return
        for term in variable_terms:
            if missing.any():
                term["impute"] = float(np.median(term_values({**term, "impute": None}, frame.columns)[~missing]))
            terms.append(term)
        if missing.any() and not any(t["name"] == f"{column}_missing" for t in terms):
            terms.append({"name": f"{column}_missing", "column": column, "transform": "is_missing",
                          "variable": f"{column}_missing", "indicator_of": indicator_of})

    add([_linear("age_years")], "age_years", ["age_years"])
    add([_linear("is_female")], "is_female", ["is_female"])
    mg = frame.columns["mg_mmol_l"]
    present = mg[~np.isnan(mg)]
    knots = (sorted(set(float(k) for k in np.quantile(present, settings.mg_spline_knot_quantiles)))
             if len(present) else [])
    mg_terms = [_linear("mg_mmol_l")]
    if len(knots) >= 3:
        mg_terms += [{"name": f"mg_mmol_l_rcs{j}", "column": "mg_mmol_l", "transform": "rcs", "knots": knots,
                      "basis": j, "variable": "mg_mmol_l"} for j in range(1, len(knots) - 1)]
    add(mg_terms, "mg_mmol_l", ["mg_mmol_l", "mg_below_op_cutoff"])
    add([_linear("mg_below_op_cutoff")], "mg_below_op_cutoff", ["mg_mmol_l", "mg_below_op_cutoff"])
    for column in LAB_COLUMNS:
        add([_linear(column)], column, [column])
    return _merge_identical_indicators(terms, frame), dropped


def _merge_identical_indicators(terms: list[dict], frame: Frame) -> list[dict]:
    """Labs drawn in one panel are missing together: identical indicators would make the refit
    singular, so one indicator stands for all variables that share its pattern."""
    merged, seen = [], {}
    for term in terms:
        if "indicator_of" not in term:
            merged.append(term)
            continue
        pattern = np.isnan(frame.columns[term["column"]]).tobytes()
        if pattern in seen:
            first = seen[pattern]
            first["indicator_of"] = list(dict.fromkeys(first["indicator_of"] + term["indicator_of"]))
            continue
        seen[pattern] = term = {**term}
        merged.append(term)
    return merged


def _standardise(matrix: np.ndarray):
    mean, sd = matrix.mean(axis=0), matrix.std(axis=0)
    varying = sd > 0
    standardised = np.zeros_like(matrix)
    standardised[:, varying] = (matrix[:, varying] - mean[varying]) / sd[varying]
    return standardised, mean, sd, varying


def _log_loss(y: np.ndarray, p: np.ndarray) -> float:
    p = np.clip(p, 1e-12, 1 - 1e-12)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def _select(matrix: np.ndarray, y: np.ndarray, patient_key: np.ndarray, settings: ScoringSettings) -> dict:
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import l1_min_c

    standardised, mean, sd, varying = _standardise(matrix)
    smallest = l1_min_c(standardised, y, loss="log", fit_intercept=True, intercept_scaling=INTERCEPT_SCALING)
    grid = smallest * np.logspace(0, 2.5, settings.lasso_n_penalties)
    folds = patient_folds(patient_key, settings.lasso_inner_folds, settings.seed + 1)
    losses = np.full((settings.lasso_inner_folds, len(grid)), np.nan)

    def model(c: float):
        return LogisticRegression(penalty="l1", C=c, solver=SOLVER, intercept_scaling=INTERCEPT_SCALING,
                                  max_iter=1000, random_state=settings.seed)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for k in range(settings.lasso_inner_folds):
            train, test = folds != k, folds == k
            if len(np.unique(y[train])) < 2 or not test.any():
                continue
            for i, c in enumerate(grid):
                fitted = model(c).fit(standardised[train], y[train])
                losses[k, i] = _log_loss(y[test], fitted.predict_proba(standardised[test])[:, 1])
        mean_loss = np.nanmean(losses, axis=0)
        se_loss = np.nanstd(losses, axis=0, ddof=1) / np.sqrt(np.sum(~np.isnan(losses), axis=0))
        best = int(np.nanargmin(mean_loss))
        if settings.lasso_penalty_rule == "1se":
            chosen = int(np.nonzero(mean_loss <= mean_loss[best] + se_loss[best])[0].min())
        else:
            chosen = best
        final = model(grid[chosen]).fit(standardised, y)
    coefficients = np.where(varying, final.coef_[0], 0.0)
    return {"C": float(grid[chosen]), "C_min_loss": float(grid[best]), "coefficients": coefficients,
            "mean": mean, "sd": sd, "cv_log_loss": {"best": float(mean_loss[best]), "se_at_best": float(se_loss[best]),
                                                     "chosen": float(mean_loss[chosen])}}


def _refit(matrix: np.ndarray, y: np.ndarray, patient_key: np.ndarray):
    from statsmodels.discrete.discrete_model import Logit

    design = np.column_stack([np.ones(len(matrix)), matrix])
    groups = np.unique(patient_key.astype(str), return_inverse=True)[1]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = Logit(y, design).fit(disp=0, maxiter=200, method="newton", cov_type="cluster",
                                             cov_kwds={"groups": groups})
        except (np.linalg.LinAlgError, ValueError, OverflowError) as error:
            raise ModelRefused(f"The {NAME} refit cannot be computed on this registry's data "
                               f"({str(error).rstrip('.')}).") from error
    if any(warning.category.__name__ == "PerfectSeparationWarning" for warning in caught):
        raise ModelRefused(f"The {NAME} refit cannot be computed on this registry's data (the selected "
                           "predictors separate the outcome perfectly).")
    params, se = np.asarray(result.params), np.asarray(result.bse)
    with np.errstate(over="ignore"):
        bounds = np.exp(np.abs(params) + 2 * se)
    if not (np.all(np.isfinite(params)) and np.all(np.isfinite(se)) and np.all(np.isfinite(bounds))):
        raise ModelRefused(f"The {NAME} refit gives non-finite estimates on this registry's data (the selected "
                           "predictors are collinear or separate the outcome).")
    return params, se, np.asarray(result.pvalues)


def fit_once(frame: Frame, settings: ScoringSettings) -> tuple[dict, dict]:
    """The whole procedure on one data set: parameters to apply and the selection/refit report."""
    y = frame.outcome
    terms, dropped = candidates(frame, settings)
    matrix = design_matrix(terms, frame.columns)
    if not np.all(np.isfinite(matrix)):
        raise ModelRefused(f"The {NAME} model cannot be fitted: a candidate predictor has non-finite values.")
    selection = _select(matrix, y, frame.patient_key, settings)
    nonzero = {term["name"] for term, b in zip(terms, selection["coefficients"]) if abs(b) > 1e-10}
    variables = {term["variable"] for term in terms if term["name"] in nonzero and "indicator_of" not in term}
    keep = [i for i, term in enumerate(terms)
            if term["variable"] in variables
            or ("indicator_of" in term and variables.intersection(term["indicator_of"]))]
    params, se, pvalues = _refit(matrix[:, keep], y, frame.patient_key)
    applied_terms = [{**terms[i], "coefficient": float(params[j + 1])} for j, i in enumerate(keep)]
    parameters = {
        "model": NAME,
        "kind": "logistic",
        "intercept": float(params[0]),
        "terms": applied_terms,
        "bands": probability_bands(settings),
        "missing_rule": "median_imputation_with_indicator",
        "selection": {
            "method": "l1_logistic_regression",
            "penalty_rule": settings.lasso_penalty_rule,
            "penalty_C": selection["C"],
            "penalty_C_at_min_loss": selection["C_min_loss"],
            "cv_log_loss": selection["cv_log_loss"],
            "candidates": [term["name"] for term in terms],
            "candidates_without_data": dropped,
            "standardised_l1_coefficients": {term["name"]: float(selection["coefficients"][i])
                                             for i, term in enumerate(terms)},
            "selected": [terms[i]["name"] for i in keep],
        },
    }
    z = settings.ci_z
    odds_ratios = {"intercept": {"log_odds": float(params[0]), "se": float(se[0])}}
    for j, i in enumerate(keep):
        b, s = float(params[j + 1]), float(se[j + 1])
        odds_ratios[terms[i]["name"]] = {"odds_ratio": float(np.exp(b)), "ci_low": float(np.exp(b - z * s)),
                                         "ci_high": float(np.exp(b + z * s)), "log_odds": b, "se": s,
                                         "p_value": float(pvalues[j + 1])}
    return parameters, odds_ratios


def sample_size_check(data: Frame, settings: ScoringSettings):
    terms, _ = candidates(data, settings)
    return riley_minimum(len(data), int(np.sum(data.outcome)), len(terms), settings.riley_r2_nagelkerke,
                         settings.riley_shrinkage, settings.riley_optimism, settings.riley_margin, settings.ci_z)


def fit(frame: Frame, settings: ScoringSettings, rules: dict) -> Fit:
    data = frame.subset(~np.isnan(frame.outcome))
    require_outcomes(NAME, data.outcome, settings, "be fitted")
    size = sample_size_check(data, settings)
    notes = []
    if not size.enough:
        if settings.riley_action == "refuse":
            raise ModelRefused(sentence(NAME, size, "refuse"))
        notes.append(sentence(NAME, size, "warn"))
    folds = patient_folds(data.patient_key, settings.cv_folds, settings.seed)
    held_out = np.empty(len(data))
    for fold in range(settings.cv_folds):
        test = folds == fold
        fold_parameters, _ = fit_once(data.subset(~test), settings)
        held_out[test] = apply(fold_parameters, data.subset(test).columns).probability
    parameters, odds_ratios = fit_once(data, settings)
    metrics = {
        "evaluated": True,
        "evaluated_at": evaluated_at(),
        "validation": f"{settings.cv_folds}-fold cross-validation grouped by patient; knots, imputation, penalty "
                      "choice, selection and refit repeated in every training part",
        "out_of_sample": probability_metrics(held_out, data.outcome, data.patient_key, settings),
        "refit_odds_ratios": odds_ratios,
        "sample_size": {"required": size.required, "available": size.available, "events": size.events,
                        "candidate_parameters": size.parameters, **size.criteria},
        "magnesium_alone": mg_alone_metrics(data, settings),
        "days_before_scan": days_before_distribution(data),
        "note": SYNTHETIC_NOTE,
    }
    return Fit(parameters=parameters, metrics=metrics, card=card(parameters, odds_ratios, size, notes, settings, rules,
                                                                  metrics["days_before_scan"]), warnings=notes)


def card(parameters: dict, odds_ratios: dict, size, notes: list[str], settings: ScoringSettings, rules: dict,
         days_before: dict) -> dict:
    selection = parameters["selection"]
    rule = ("one-standard-error rule (the strongest penalty within one SE of the lowest cross-validated log-loss)"
            if settings.lasso_penalty_rule == "1se" else "lowest cross-validated log-loss")
    return {
        "title": "Registry pre-scan lasso model (local data)",
        "source": "Method after Shi et al. 2026 (Front Med): LASSO selection, then multivariable logistic "
                  "regression; fitted on this registry's assessments with pre-scan laboratory values",
        "candidates": selection["candidates"],
        "selected": selection["selected"],
        "odds_ratios": {name: {k: v for k, v in values.items() if k in ("odds_ratio", "ci_low", "ci_high")}
                        for name, values in odds_ratios.items() if name != "intercept"},
        "units": "age years, is_female 1/0, magnesium mmol/L as a restricted cubic spline (mg_mmol_l and "
                 "mg_mmol_l_rcs*: read together, not one by one) and as the registry's flag mg_below_op_cutoff "
                 f"(mg <= {rules.get('mg_op_cutoff_at_or_below_mmol_l')} mmol/L, var mg_op_cutoff_at_or_below_mmol_l "
                 "as in effect), phosphate and calcium mmol/L, 25-OH vitamin D nmol/L, PTH ng/L, CRP mg/L, "
                 "beta-CTx and P1NP ng/mL; odds ratios per unit",
        "predictor_timing": f"labs collected on or before the scan, at most {rules.get('prescan_lab_window_days')} "
                            "days before it (marts.fct_prescan_labs); no weight or BMI, so the model also scores "
                            "patients who have no DXA yet",
        "days_before_scan": days_before,
        "missing_data": "an empty value takes the training median and `<variable>_missing` = 1; an indicator "
                        "enters only with its variable",
        "penalty": f"C = {selection['penalty_C']:.6g}, {rule}, {settings.lasso_inner_folds}-fold patient-grouped",
        "standard_errors": "clustered by patient (sandwich), since patients have several scans",
        "sample_size": (f"Riley et al. 2020: {size.required} assessments required for {size.parameters} candidate "
                        f"parameters, {size.available} available ({size.events} with osteoporosis)"),
        "warnings": notes,
        "outcome": outcome_definition(rules),
        "evaluation": f"{settings.cv_folds}-fold patient-grouped cross-validation of the whole procedure "
                      "(out-of-sample); AUROC interval by patient-cluster bootstrap",
        "minimum_outcomes": settings.min_outcomes,
        "limitations": "Intervals of the refit ignore the selection step (post-selection inference), so they "
                       "are somewhat too narrow; the probability bands are a registry convention.",
        "metrics_note": SYNTHETIC_NOTE,
    }


DEFINITION = ModelDefinition(name=NAME, title="Registry pre-scan lasso model", fitted=True, fit=fit)
