"""All analyses on one database (warehouse or snapshot), and their aggregate tables.

`run` reads the frames and calls each analysis; `tables` turns the results into the tables
that are published (schema `analyses` of the snapshot) and written as CSV by the report: counts,
estimates, intervals and curves on grids, never a row per patient, every count behind a figure
past the small-cell rule (`disclosure`).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from ..disclosure import load_policy
from ..rules import load_rules
from . import ali, population, shi, side_by_side, standardised
from .disclosure import is_small, limit_in_effect, shown, small_cell_limit
from .settings import DEFAULT, SHI_MG_AUC, SHI_MG_OR, AnalysisSettings

ROC_CURVE_POINTS = 51         # a drawn ROC curve on a grid of false-positive rates, not per patient


def confidence_alpha(wilson_z: float) -> float:
    """The two-sided alpha of the registry's intervals, from the rule wilson_z (as the marts)."""
    return float(2 * stats.norm.sf(float(wilson_z)))


@dataclass
class Prevalence:
    standard: str
    yearly: pd.DataFrame
    trend: standardised.Trend | None
    latest_complete_year: int | None
    years_with_small_strata: set[int] = field(default_factory=set)   # standardised rate not published
    years_suppressed_in_marts: set[int] = field(default_factory=set)  # hidden by the marts' disclosure control


@dataclass
class Analyses:
    shi: shi.ShiResult | None
    ali: ali.AliResult | None
    prevalence: Prevalence | None
    missing: dict[str, list[str]] = field(default_factory=dict)     # analysis -> marts it lacked
    populations: dict[str, tuple[int, int]] = field(default_factory=dict)   # study -> (patients, analysed)
    limit: int | None = None      # the small-cell limit in effect for the run


def prevalence(counts: pd.DataFrame, last_scan, settings: AnalysisSettings, alpha: float,
               age_band_lower_bounds: list[int]) -> Prevalence:
    if settings.standard_population == "esp2013":
        weights = standardised.esp_weights(age_band_lower_bounds)
    elif settings.standard_population == "registry_pooled":
        weights = standardised.pooled_weights(counts[counts["sex"].isin(standardised.SEXES)])
    else:
        raise ValueError(f"Unknown standard population {settings.standard_population!r}.")
    yearly = standardised.yearly(counts, weights, alpha)
    latest = standardised.latest_complete_year(yearly["year"].tolist() if len(yearly) else [], last_scan)
    limit = small_cell_limit()
    small = counts.apply(lambda r: any(is_small(int(n), limit) for n in
                                       (r["n_assessed"], r["n_deficient"], r["n_assessed"] - r["n_deficient"])),
                         axis=1) if len(counts) else pd.Series(dtype=bool)
    return Prevalence(settings.standard_population, yearly,
                      standardised.trend(counts[counts["sex"].isin(standardised.SEXES)], alpha) if len(counts) else None,
                      latest, {int(y) for y in counts.loc[small, "year"]} if len(counts) else set())


def run(conn, settings: AnalysisSettings = DEFAULT) -> Analyses:
    """Every analysis on the marts behind `conn`, with the rules that build used and the project's
    disclosure policy (its small-cell limit)."""
    rules = load_rules(conn)
    limit = load_policy(conn).limit
    with limit_in_effect(limit):
        result = _run(conn, settings, confidence_alpha(rules.value("wilson_z")), rules.value("age_band_lower_bounds"))
    result.limit = limit
    return result


def bounded(frame: pd.DataFrame, settings: AnalysisSettings) -> pd.DataFrame:
    """The frame, or a seeded uniform random sample of `settings.max_patients` of its patients."""
    if len(frame) <= settings.max_patients:
        return frame
    return frame.sample(n=settings.max_patients, random_state=settings.seed).sort_index()


def _run(conn, settings: AnalysisSettings, alpha: float, bounds: list[int]) -> Analyses:
    missing = {name: population.missing_marts(conn, name) for name in population.REQUIRED}
    populations = {}
    shi_result = ali_result = None
    if not missing["shi"]:
        frame = population.shi_frame(conn)
        analysed = bounded(frame, settings)
        populations["shi"] = (len(frame), len(analysed))
        shi_result = shi.analyse(analysed, settings, alpha)
    if not missing["ali"]:
        frame = population.ali_frame(conn)
        analysed = bounded(frame, settings)
        populations["ali"] = (len(frame), len(analysed))
        ali_result = ali.analyse(analysed, alpha)
    prevalence_result = None
    if not missing["prevalence"]:
        prevalence_result = prevalence(population.prevalence_counts(conn), population.last_scan_date(conn), settings,
                                       alpha, bounds)
        prevalence_result.years_suppressed_in_marts = population.years_suppressed_in_marts(conn)
    return Analyses(shi_result, ali_result, prevalence_result, {k: v for k, v in missing.items() if v}, populations)


def _ratio_rows(ratios, **extra) -> list[dict]:
    return [{**asdict(r), **extra} for r in ratios]


def _thinned_curve(marker: str, curve: pd.DataFrame) -> pd.DataFrame:
    grid = np.linspace(0, 1, ROC_CURVE_POINTS)
    tpr = np.interp(grid, curve["fpr"].to_numpy(), curve["tpr"].to_numpy())
    return pd.DataFrame({"marker": marker, "fpr": grid, "tpr": tpr})


STANDARDISED_COLUMNS = ("standardised", "standardised_ci_low", "standardised_ci_high", "standard_weight_missing")


def _yearly_published(prev: Prevalence) -> pd.DataFrame:
    """A year with a small count (patients, deficient or not deficient), or one the marts' disclosure
    control hid (`mg_deficiency_prevalence_by_year.suppressed`, secondary suppression included), keeps
    only the year. The standardised rate is a weighted sum of the strata's rates, so with the strata's
    counts it could give a hidden one away: it is published only for years whose every sex x age band
    stratum has no small count. The count of patients without a known sex is not published."""
    limit = small_cell_limit()
    frame = prev.yearly.drop(columns=["n_unknown_sex"]).copy()
    hidden = pd.Series([any(is_small(int(n), limit) for n in (r.n_assessed, r.n_deficient, r.n_assessed - r.n_deficient))
                        for r in frame.itertuples()], index=frame.index, dtype=bool)
    hidden |= frame["year"].isin(prev.years_suppressed_in_marts)
    strata = frame["year"].isin(prev.years_with_small_strata)
    for column in frame.columns:
        if column != "year":
            frame[column] = frame[column].astype("float64").where(~hidden)
    for column in STANDARDISED_COLUMNS:
        frame[column] = frame[column].where(~strata)
    frame["suppressed"] = hidden
    frame["standardised_withheld"] = strata & ~hidden
    frame["standard"] = prev.standard
    frame["complete_year"] = frame["year"] <= (prev.latest_complete_year or -1)
    return frame


def tables(result: Analyses) -> dict[str, pd.DataFrame]:
    if result.limit is not None:
        with limit_in_effect(result.limit):
            return _tables(result)
    return _tables(result)


def _tables(result: Analyses) -> dict[str, pd.DataFrame]:
    out: dict[str, pd.DataFrame] = {"studies_side_by_side": side_by_side.table(result.shi, result.ali)}
    out["populations"] = pd.DataFrame(
        [{"study": study, "patients": shown(total), "analysed": shown(analysed),
          "sampled": analysed < total} for study, (total, analysed) in result.populations.items()],
        columns=["study", "patients", "analysed", "sampled"])
    if result.shi is not None:
        s = result.shi
        out["shi_odds_ratios"] = pd.DataFrame(_ratio_rows(s.odds_ratios)).drop(columns=["n_exposed"]).assign(
            paper_odds_ratio=[SHI_MG_OR.estimate, None], paper_ci_low=[SHI_MG_OR.ci_low, None],
            paper_ci_high=[SHI_MG_OR.ci_high, None])
        rocs, curves = [], []
        for r in s.rocs:
            rocs.append({"marker": r.marker, "n": r.n, "n_outcomes": r.n_outcomes,
                         "auroc": r.auroc.auroc if r.auroc else None, "ci_low": r.auroc.ci_low if r.auroc else None,
                         "ci_high": r.auroc.ci_high if r.auroc else None,
                         "youden_cutoff": r.youden.cutoff if r.youden else None,
                         "youden_sensitivity": r.youden.sensitivity if r.youden else None,
                         "youden_specificity": r.youden.specificity if r.youden else None,
                         "paper_cutoff_sensitivity": r.paper_cutoff_sensitivity,
                         "paper_cutoff_specificity": r.paper_cutoff_specificity,
                         "paper_auroc": SHI_MG_AUC.estimate if r.marker == "magnesium" else None, "reason": r.reason})
            if r.curve is not None:
                curves.append(_thinned_curve(r.marker, r.curve))
        out["shi_marker_roc"] = pd.DataFrame(rocs)
        if curves:
            out["shi_roc_curves"] = pd.concat(curves, ignore_index=True)
        out["shi_group_tables"] = pd.concat([t.frame().assign(comparison=name) for name, t in s.tables.items()],
                                            ignore_index=True)
        if isinstance(s.model, str):
            out["shi_model_comparison"] = pd.DataFrame([{"model": "local model", "reason": s.model}])
        else:
            m = s.model
            out["shi_local_model"] = pd.DataFrame(_ratio_rows(m.odds_ratios)).drop(columns=["n_exposed", "reason"])
            compared = {other: c for _, other, c in m.comparisons}
            out["shi_model_comparison"] = pd.DataFrame([
                {"model": name, "n": a.n, "n_outcomes": a.n_outcomes, "auroc": a.auroc, "ci_low": a.ci_low,
                 "ci_high": a.ci_high, "difference_from_local_model": compared[name].difference if name in compared else None,
                 "difference_ci_low": compared[name].ci_low if name in compared else None,
                 "difference_ci_high": compared[name].ci_high if name in compared else None,
                 "paired_delong_p": compared[name].p_value if name in compared else None,
                 "calibration_intercept": m.calibration_intercept if name == "local model" else None,
                 "calibration_slope": m.calibration_slope if name == "local model" else None}
                for name, a in m.aurocs.items()])
            c = m.calibration
            out["shi_calibration_curve"] = pd.DataFrame({"predicted": c.grid, "observed": c.observed,
                                                         "band_low": c.band_low, "band_high": c.band_high})
            out["shi_decision_curve"] = m.decision.drop(columns=["n_treated"])
            nomo = m.nomogram
            rows = [{"axis": sc.predictor, "value": v, "points": p} for sc in nomo.scales
                    for v, p in zip(sc.values, sc.points)]
            rows += [{"axis": "total points", "value": p, "points": t} for t, p in zip(nomo.total_points, nomo.probability)]
            out["shi_nomogram"] = pd.DataFrame(rows)
    if result.ali is not None:
        a = result.ali
        out["ali_correlations"] = pd.DataFrame([asdict(c) for c in a.correlations])
        w = a.weight
        out["ali_odds_ratios"] = pd.DataFrame(_ratio_rows(a.odds_ratios) + [
            {"term": "magnesium deficiency / vitamin D deficiency (ratio of ORs, one model)", "odds_ratio": w.ratio,
             "ci_low": w.ci_low, "ci_high": w.ci_high, "p_value": w.p_value, "n": w.n, "n_outcomes": None,
             "n_exposed": None, "reason": w.reason}]).drop(columns=["n_exposed"])
    if result.prevalence is not None:
        p = result.prevalence
        out["mg_deficiency_standardised"] = _yearly_published(p)
        t = p.trend
        out["mg_deficiency_trend"] = pd.DataFrame([{
            "standard": p.standard, "latest_complete_year": p.latest_complete_year,
            "odds_ratio_per_year": t.odds_ratio_per_year if t else None, "ci_low": t.ci_low if t else None,
            "ci_high": t.ci_high if t else None, "p_value": t.p_value if t else None, "years": t.years if t else None,
            "test": "binomial regression on year, sex and age band"}])
    return out
