"""The "studies side by side" table: figure | paper | registry (n) | comparable population?

So an analyst sees at once where the registry agrees with the papers and where it does not, and
whether the comparison is like for like (population, timing of the labs, definitions).
"""
from __future__ import annotations

import pandas as pd

from .settings import ALI_N, ALI_POPULATION, SHI_MG_AUC, SHI_MG_CUTOFF_MMOL_L, SHI_MG_OR, SHI_N


def _interval(estimate, low, high, digits: int = 3) -> str:
    if estimate is None:
        return "not estimable"
    if low is None:
        return f"{estimate:.{digits}f}"
    return f"{estimate:.{digits}f} ({low:.{digits}f}–{high:.{digits}f})"


def table(shi, ali) -> pd.DataFrame:
    """shi: etl.analyses.shi.ShiResult; ali: etl.analyses.ali.AliResult (either may be None)."""
    rows = []
    shi_population = ("yes: postmenopausal women, latest assessment, labs before the scan; the paper's "
                      "covariate list is not fully published")
    if shi is not None:
        mg = shi.odds_ratios[0]
        rows.append({"figure": SHI_MG_OR.figure, "paper": _interval(SHI_MG_OR.estimate, SHI_MG_OR.ci_low, SHI_MG_OR.ci_high),
                     "paper_n": SHI_N, "registry": _interval(mg.odds_ratio, mg.ci_low, mg.ci_high) if mg.odds_ratio
                     else mg.reason, "registry_n": mg.n or None, "comparable_population": shi_population})
        mg_roc = shi.rocs[0]
        rows.append({"figure": SHI_MG_AUC.figure, "paper": _interval(SHI_MG_AUC.estimate, SHI_MG_AUC.ci_low, SHI_MG_AUC.ci_high),
                     "paper_n": SHI_N,
                     "registry": _interval(mg_roc.auroc.auroc, mg_roc.auroc.ci_low, mg_roc.auroc.ci_high)
                     if mg_roc.auroc else mg_roc.reason, "registry_n": mg_roc.n,
                     "comparable_population": shi_population})
        if mg_roc.youden is not None:
            rows.append({"figure": "Youden cut-off of magnesium, mmol/L", "paper": f"{SHI_MG_CUTOFF_MMOL_L:g}", "paper_n": SHI_N,
                         "registry": f"{mg_roc.youden.cutoff:.3f}", "registry_n": mg_roc.n,
                         "comparable_population": shi_population})
    if ali is not None:
        ratios = {r.term: r for r in ali.odds_ratios}
        for term in ("magnesium deficiency", "vitamin D deficiency"):
            r = ratios[term]
            rows.append({"figure": f"OR for osteoporosis of {term} (age and sex adjusted)",
                         "paper": "Mg deficiency's OR larger than 25-OH D's, PTH's and calcium's",
                         "paper_n": ALI_N, "registry": _interval(r.odds_ratio, r.ci_low, r.ci_high) if r.odds_ratio
                         else r.reason, "registry_n": r.n or None,
                         "comparable_population": f"partly: {ALI_POPULATION}; deficiency by the registry's thresholds "
                                                  "(dbt vars), labs matched either side of the scan"})
        w = ali.weight
        rows.append({"figure": "OR(Mg deficiency) / OR(vitamin D deficiency), one model",
                     "paper": "larger than 1 (no interval published)", "paper_n": ALI_N,
                     "registry": _interval(w.ratio, w.ci_low, w.ci_high) if w.ratio else w.reason,
                     "registry_n": w.n, "comparable_population": f"partly: {ALI_POPULATION}"})
        for c in ali.correlations:
            if c.stratum is None and (c.x, c.y) in (("magnesium", "CRP"), ("25-OH vitamin D", "lowest T-score")):
                paper = "negative" if c.y == "CRP" else "inverse relation with T-score"
                rows.append({"figure": f"Spearman ρ, {c.x} with {c.y}", "paper": paper, "paper_n": ALI_N,
                             "registry": _interval(c.rho, c.ci_low, c.ci_high) if c.rho is not None
                             else "too few patients", "registry_n": c.n,
                             "comparable_population": f"partly: {ALI_POPULATION}"})
    return pd.DataFrame(rows, columns=["figure", "paper", "paper_n", "registry", "registry_n", "comparable_population"])
