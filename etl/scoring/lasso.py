"""`local_lasso`: Shi et al.'s method on the registry's own data.

1. Candidates: age, BMI, magnesium (the indicator at or below the Shi cut-off, as in the paper's
   multivariable model), phosphate, calcium, 25-OH vitamin D, PTH, CRP, beta-CTx, P1NP.
2. Missing values: simple imputation with an indicator. An empty lab value takes the training
   median of that term and a `<term>_missing` indicator (1 = was empty) joins the candidates, so
   every assessment is scored and missingness may carry its own risk.
3. Selection: L1-penalised logistic regression on standardised candidates (scikit-learn), the
   penalty chosen by patient-grouped cross-validation (lowest held-out log-loss).
4. Refit: unpenalised logistic regression (statsmodels) on the selected terms in their own units,
   giving the odds ratios with Wald 95% intervals that the card reports and the model applies.
   A selected term's missing indicator is kept with it, so imputed rows are not mistaken for
   median values.

Out-of-sample metrics: the whole procedure (imputation, penalty choice, selection, refit) is
repeated in each of k patient-grouped folds and scored on the held-out fold.
"""
from __future__ import annotations

import warnings

import numpy as np

from ..errors import OsteoregError
from .evaluate import patient_folds, probability_metrics
from .frame import Frame
from .linear import apply, term_values
from .models import (Fit, ModelDefinition, evaluated_at, mg_alone_metrics, outcome_definition,
                     probability_bands, require_outcomes)
from .settings import ScoringSettings, mg_cutoff_mmol_l

NAME = "local_lasso"
SOLVER = "liblinear"     # exact L1 path for small to medium data; the intercept is left unpenalised in effect
INTERCEPT_SCALING = 100.0


def candidates() -> list[dict]:
    linear = lambda column: {"name": column, "column": column, "transform": "linear"}  # noqa: E731
    return [
        linear("age_at_scan"),
        linear("bmi"),
        {"name": "mg_at_or_below_cutoff", "column": "mg_mmol_l", "transform": "at_or_below",
         "threshold": mg_cutoff_mmol_l()},
        linear("phosphate_mmol_l"),
        linear("calcium_mmol_l"),
        linear("vitd_nmol_l"),
        linear("pth_ng_l"),
        linear("crp_mg_l"),
        linear("beta_ctx_ng_ml"),
        linear("p1np_ng_ml"),
    ]


def _imputed_terms(frame: Frame) -> tuple[list[dict], list[str]]:
    """Candidates with their training median and missing indicators; candidates with no value
    at all in the training data are dropped (named in the second list)."""
    terms, dropped = [], []
    for candidate in candidates():
        values = term_values(candidate, frame.columns)
        missing = np.isnan(values)
        if missing.all():
            dropped.append(candidate["name"])
            continue
        terms.append({**candidate, "impute": float(np.median(values[~missing]))})
        if missing.any():
            terms.append({"name": f"{candidate['name']}_missing", "column": candidate["column"],
                          "transform": "is_missing", "indicator_of": candidate["name"]})
    return terms, dropped


def _select(matrix: np.ndarray, y: np.ndarray, patient_key: np.ndarray, settings: ScoringSettings) -> dict:
    from sklearn.linear_model import LogisticRegressionCV

    mean = matrix.mean(axis=0)
    sd = matrix.std(axis=0)
    varying = sd > 0
    standardised = np.zeros_like(matrix)
    standardised[:, varying] = (matrix[:, varying] - mean[varying]) / sd[varying]
    folds = patient_folds(patient_key, settings.lasso_inner_folds, settings.seed + 1)
    splits = [(np.nonzero(folds != k)[0], np.nonzero(folds == k)[0]) for k in range(settings.lasso_inner_folds)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        search = LogisticRegressionCV(Cs=settings.lasso_n_penalties, l1_ratios=(1.0,), solver=SOLVER, cv=splits,
                                      scoring="neg_log_loss", intercept_scaling=INTERCEPT_SCALING, max_iter=1000,
                                      random_state=settings.seed, use_legacy_attributes=False)
        search.fit(standardised, y)
    coefficients = np.where(varying, search.coef_[0], 0.0)
    return {"C": float(np.ravel(search.C_)[0]), "coefficients": coefficients, "mean": mean, "sd": sd}


def _refit(matrix: np.ndarray, y: np.ndarray):
    import statsmodels.api as sm

    design = sm.add_constant(matrix, has_constant="add")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            result = sm.Logit(y, design).fit(disp=0, maxiter=200, method="newton")
        except np.linalg.LinAlgError as error:
            raise OsteoregError(f"The {NAME} refit failed: the selected predictors are collinear ({error}).") from error
    params, se = np.asarray(result.params), np.asarray(result.bse)
    return params, se, np.asarray(result.pvalues)


def fit_once(frame: Frame, settings: ScoringSettings) -> tuple[dict, dict]:
    """The whole procedure on one data set: parameters to apply and the selection/refit report."""
    y = frame.outcome
    terms, dropped = _imputed_terms(frame)
    matrix = np.column_stack([term_values(term, frame.columns) for term in terms])
    selection = _select(matrix, y, frame.patient_key, settings)
    chosen = {term["name"] for term, b in zip(terms, selection["coefficients"]) if abs(b) > 1e-10}
    chosen |= {term["name"] for term in terms if term.get("indicator_of") in chosen}
    keep = [i for i, term in enumerate(terms) if term["name"] in chosen]
    params, se, pvalues = _refit(matrix[:, keep], y)
    applied_terms = [{**terms[i], "coefficient": float(params[j + 1])} for j, i in enumerate(keep)]
    parameters = {
        "model": NAME,
        "kind": "logistic",
        "intercept": float(params[0]),
        "terms": applied_terms,
        "bands": probability_bands(settings),
        "missing_rule": "median_imputation_with_indicator",
        "outcome": list(settings.outcome_categories),
        "selection": {
            "method": "l1_logistic_regression_cv",
            "penalty_C": selection["C"],
            "penalty_chosen_by": f"{settings.lasso_inner_folds}-fold patient-grouped cross-validation, "
                                 "lowest log-loss",
            "candidates": [term["name"] for term in terms],
            "candidates_without_data": dropped,
            "scaling": {term["name"]: {"mean": float(selection["mean"][i]), "sd": float(selection["sd"][i])}
                        for i, term in enumerate(terms)},
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


def fit(frame: Frame, settings: ScoringSettings) -> Fit:
    usable = ~np.isnan(frame.outcome)
    data = frame.subset(usable)
    require_outcomes(NAME, data.outcome, settings, "be fitted")
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
        "validation": f"{settings.cv_folds}-fold cross-validation grouped by patient; imputation, penalty "
                      "choice, selection and refit repeated in every training part",
        "out_of_sample": probability_metrics(held_out, data.outcome, settings.ci_z),
        "refit_odds_ratios": odds_ratios,
        "magnesium_alone": mg_alone_metrics(data, settings),
    }
    return Fit(parameters=parameters, metrics=metrics, card=card(parameters, odds_ratios, settings))


def card(parameters: dict, odds_ratios: dict, settings: ScoringSettings) -> dict:
    selection = parameters["selection"]
    return {
        "title": "Registry lasso model (Shi et al. 2026 method, local data)",
        "source": "Method of Shi et al. 2026 (Front Med): LASSO selection, then multivariable logistic regression; "
                  "fitted on this registry's assessments",
        "candidates": [c["name"] for c in candidates()],
        "selected": selection["selected"],
        "odds_ratios": {name: {k: v for k, v in values.items() if k in ("odds_ratio", "ci_low", "ci_high")}
                        for name, values in odds_ratios.items() if name != "intercept"},
        "units": "age years, BMI kg/m2, magnesium as the indicator mg_mmol_l <= "
                 f"{mg_cutoff_mmol_l()} (dbt var mg_op_cutoff_at_or_below_mmol_l), phosphate and calcium mmol/L, "
                 "25-OH vitamin D nmol/L, PTH ng/L, CRP mg/L, beta-CTx and P1NP ng/mL; odds ratios per unit",
        "missing_data": "simple imputation with an indicator: an empty value takes the training median and "
                        "`<term>_missing` = 1, so every assessment is scored; the medians are stored in the "
                        "parameters",
        "penalty": f"C = {selection['penalty_C']:.6g}, {selection['penalty_chosen_by']}",
        "outcome": outcome_definition(settings),
        "evaluation": f"{settings.cv_folds}-fold patient-grouped cross-validation of the whole procedure "
                      "(out-of-sample)",
        "minimum_outcomes": settings.min_outcomes,
        "limitations": "Intervals of the refit ignore the selection step (post-selection inference), so they "
                       "are somewhat too narrow; the probability bands are a registry convention.",
    }


DEFINITION = ModelDefinition(name=NAME, title="Registry lasso model", fitted=True, fit=fit)
