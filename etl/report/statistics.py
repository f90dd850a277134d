"""The studies' analyses on the registry's own patients: Table 1 by the category that applies
(WHO, or ISCD where WHO criteria do not apply), Spearman correlations, the ROC of magnesium,
calibration by risk decile (prevalence and its intervals are the marts').

Tests come from scipy and statsmodels; the AUROC interval (DeLong) and the Youden cut-off are
the scoring step's own functions, so the report and the model cards cannot disagree on them.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from .. import terminology
from ..describe import SKEWNESS_FOR_MEDIAN, decimals, is_skewed, statistic, summary
from ..scoring.evaluate import auroc_delong, youden_at_or_below
from .dataset import WHO_CATEGORIES
from .disclosure import count_text, rule, shown_count, small_cell_limit

# Calibration is drawn by tenths of predicted risk (deciles), as TRIPOD's explanation shows it.
CALIBRATION_BINS = 10

# (column, label) of Table 1's continuous rows, in the studies' order.
CONTINUOUS = (
    ("age_at_scan", "Age, years"),
    ("bmi", "BMI, kg/m²"),
    ("mg_mmol_l", "Magnesium, mmol/L"),
    ("vitd_nmol_l", "25-OH vitamin D, nmol/L"),
    ("calcium_mmol_l", "Calcium (total), mmol/L"),
    ("phosphate_mmol_l", "Phosphate, mmol/L"),
    ("pth_ng_l", "PTH, ng/L"),
    ("crp_mg_l", "CRP, mg/L"),
    ("beta_ctx_ng_ml", "β-CTx, ng/mL"),
    ("p1np_ng_ml", "P1NP, ng/mL"),
)
# Each registry value of sex labelled by its longest spelling in the seed (F -> female).
SEX_LABELS = {value: max((s for s, v in terminology.spellings("sex").items() if v == value), key=len)
              for value in sorted(set(terminology.spellings("sex").values()))}
# (column, label, {level: label}) of Table 1's categorical rows.
CATEGORICAL = (
    ("sex", "Sex", SEX_LABELS),
    ("mg_deficient", "Magnesium deficient", {True: "yes"}),
    ("mg_below_op_cutoff", "Magnesium at or below the osteoporosis cut-off", {True: "yes"}),
    ("vitd_status", "Vitamin D status", {"deficient": "deficient", "insufficient": "insufficient",
                                         "sufficient": "sufficient"}),
)
CORRELATES = (
    ("min_t_score", "Lowest T-score (spine, femoral neck, total hip)"),
    ("bmd_lumbar_spine", "BMD lumbar spine L1-L4, g/cm²"),
    ("bmd_femoral_neck", "BMD femoral neck, g/cm²"),
    ("bmd_total_hip", "BMD total hip, g/cm²"),
)


def confidence_alpha() -> float:
    """The two-sided alpha of the marts' Wilson intervals, from their z (dbt var wilson_z)."""
    return float(2 * stats.norm.sf(float(rule("wilson_z"))))


def _p(value) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)


@dataclass
class Table1Row:
    variable: str                      # column, or column=level for a level of a categorical
    label: str
    statistic: str                     # "n", "mean (SD)", "median [IQR]", "n (%)"
    cells: dict[str, str]              # group -> text as shown
    values: dict[str, dict | None]     # group -> the numbers behind the text (None: suppressed)
    p_value: float | None = None
    test: str | None = None
    indent: bool = False


@dataclass
class Table1:
    groups: list[str]                  # the categories that apply present, then "all"
    rows: list[Table1Row] = field(default_factory=list)

    def row(self, variable: str) -> Table1Row:
        return next(row for row in self.rows if row.variable == variable)

    def frame(self) -> pd.DataFrame:
        """Long format for the CSV: one line per row and group, with the numbers shown."""
        records = []
        for row in self.rows:
            for group in self.groups:
                numbers = row.values.get(group)
                records.append({"variable": row.variable, "label": row.label, "statistic": row.statistic,
                                "category": group, "shown": row.cells.get(group, ""),
                                "suppressed": numbers is None and row.cells.get(group) == "suppressed",
                                **{key: value for key, value in (numbers or {}).items()},
                                "p_value": row.p_value, "test": row.test})
        return pd.DataFrame.from_records(records)


MISSING = "__missing__"


def _levels(values: pd.Series) -> pd.Series:
    """A categorical column as text, an empty value as MISSING. Through `object` because a
    nullable column (pandas `boolean`, as DuckDB returns a BOOLEAN with NULLs) refuses a text fill."""
    return values.astype(object).where(values.notna(), MISSING).astype(str)


def table1(frame: pd.DataFrame) -> Table1:
    """Characteristics by the category that applies (`iscd_category`: WHO where WHO criteria
    apply, else ISCD's Z-score categories) with a test across the categories, per patient.

    Every cell is computed with its exact counts in `values` (patients `n`, a level's `count`);
    `etl.report.disclosure.protect_table1` then hides small cells and the cells that would give
    them away, over the whole table at once. Percentages are of the group's patients, so they
    reveal no count beyond the ones shown.
    """
    limit = small_cell_limit()
    present = set(frame["iscd_category"].dropna())
    groups = [c for c in WHO_CATEGORIES if c in present] + sorted(present - set(WHO_CATEGORIES))
    by_group = {group: frame[frame["iscd_category"] == group] for group in groups}
    by_group["all"] = frame
    table = Table1(groups=groups + ["all"])
    counts = {group: len(rows) for group, rows in by_group.items()}
    table.rows.append(Table1Row(
        "n", "Patients", "n", {g: count_text(n, limit) for g, n in counts.items()},
        {g: {"n": n} for g, n in counts.items()}))

    for column, label in CONTINUOUS:
        values = frame[column].astype("float64").dropna()
        skewed = is_skewed(values)
        cells, numbers = {}, {}
        digits = decimals(values)
        for group, rows in by_group.items():
            group_values = rows[column].astype("float64").dropna()
            if len(group_values) == 0:
                cells[group], numbers[group] = "–", {"n": 0}
            else:
                cells[group], numbers[group] = summary(group_values, skewed, digits)
        samples = [rows[column].astype("float64").dropna().to_numpy() for group, rows in by_group.items()
                   if group != "all"]
        samples = [sample for sample in samples if len(sample) >= 2]
        p_value, test = None, None
        if len(samples) >= 2:
            if skewed:
                p_value, test = _p(stats.kruskal(*samples).pvalue), "Kruskal-Wallis"
            else:
                p_value, test = _p(stats.f_oneway(*samples).pvalue), "ANOVA"
        table.rows.append(Table1Row(column, label, statistic(skewed), cells, numbers,
                                    p_value, test))

    for column, label, levels in CATEGORICAL:
        observed = frame[column]
        crosstab = pd.crosstab(_levels(observed), frame["iscd_category"])
        level_rows = []
        present = [g for g in groups if g in crosstab.columns]
        level_keys = {str(level): level for level in levels}
        p_value, test = None, None
        known = crosstab.loc[[key for key in crosstab.index if key != MISSING], present]
        known = known.loc[known.sum(axis=1) > 0, known.sum(axis=0) > 0]
        if known.shape[0] >= 2 and known.shape[1] >= 2:
            p_value, test = _p(stats.chi2_contingency(known.to_numpy()).pvalue), "chi-square"
        for key, level in level_keys.items():
            cells, numbers = {}, {}
            for group, rows in by_group.items():
                known_values = rows[column].dropna().astype(str)
                k = int((known_values == key).sum())
                if counts[group] == 0:
                    cells[group], numbers[group] = "–", {"count": 0}
                else:
                    percent = 100.0 * k / counts[group]
                    cells[group] = f"{count_text(k, limit)} ({percent:.1f}%)"
                    numbers[group] = {"count": k, "percent": percent}
            level_rows.append(Table1Row(f"{column}={key}", f"{label}: {levels[level]}", "n (%)", cells, numbers,
                                        p_value, test, indent=len(levels) > 1))
        if len(levels) > 1:
            table.rows.append(Table1Row(column, label, "n (%)", {g: "" for g in by_group}, {g: {} for g in by_group},
                                        p_value, test))
            for row in level_rows:
                row.p_value, row.test = None, None
        table.rows.extend(level_rows)
    return table


@dataclass
@dataclass
class Correlation:
    variable: str
    label: str
    n: int | None
    rho: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None


def spearman(frame: pd.DataFrame) -> list[Correlation]:
    """Spearman's rho of magnesium with each T-score/BMD (Fisher-z 95% interval, Bonett-Wright SE)."""
    limit = small_cell_limit()
    z = stats.norm.isf(confidence_alpha() / 2)
    results = []
    for column, label in CORRELATES:
        pair = frame[["mg_mmol_l", column]].astype("float64").dropna()
        n = len(pair)
        if n < max(limit, 4):
            results.append(Correlation(column, label, shown_count(n, limit), None, None, None, None))
            continue
        outcome = stats.spearmanr(pair["mg_mmol_l"], pair[column])
        rho = float(outcome.statistic)
        se = math.sqrt((1 + rho * rho / 2) / (n - 3))
        center = math.atanh(max(min(rho, 0.999999), -0.999999))
        results.append(Correlation(column, label, n, rho, math.tanh(center - z * se), math.tanh(center + z * se),
                                   _p(outcome.pvalue)))
    return results


@dataclass
class MagnesiumRoc:
    n: int | None
    n_outcomes: int | None
    auroc: float | None
    ci_low: float | None
    ci_high: float | None
    youden_cutoff: float | None
    youden_sensitivity: float | None
    youden_specificity: float | None
    published_cutoff: float
    published_sensitivity: float | None
    published_specificity: float | None
    curve: pd.DataFrame | None          # false positive rate, true positive rate, threshold


def roc_population(frame: pd.DataFrame) -> pd.DataFrame:
    """The patients of the magnesium ROC: those with magnesium whose category that applies is a
    WHO category (the WHO criteria apply: 50 or older, or postmenopausal), as the risk models'
    outcome is defined (`who_criteria_apply`). Its counts are sums of Table 1's cells (the WHO
    groups' patients with magnesium), which the disclosure audit relies on."""
    return frame[frame["mg_mmol_l"].notna() & frame["iscd_category"].isin(WHO_CATEGORIES)]


def magnesium_roc(frame: pd.DataFrame, outcome_categories: tuple[str, ...]) -> MagnesiumRoc:
    """Magnesium alone for densitometric osteoporosis where the WHO criteria apply, lower
    magnesium meaning higher risk."""
    from sklearn.metrics import roc_curve

    limit = small_cell_limit()
    cutoff = float(rule("mg_op_cutoff_at_or_below_mmol_l"))
    rows = roc_population(frame)
    mg = rows["mg_mmol_l"].astype("float64").to_numpy()
    outcome = rows["iscd_category"].isin(outcome_categories).to_numpy()
    positives, negatives = int(outcome.sum()), int((~outcome).sum())
    if positives < limit or negatives < limit:
        return MagnesiumRoc(shown_count(len(mg), limit), shown_count(positives, limit), None, None, None, None,
                            None, None, cutoff, None, None, None)
    z = stats.norm.isf(confidence_alpha() / 2)
    area = auroc_delong(-mg, outcome, z)
    youden = youden_at_or_below(mg, outcome)
    fpr, tpr, thresholds = roc_curve(outcome, -mg)
    curve = pd.DataFrame({"fpr": fpr, "tpr": tpr, "mg_at_or_below": -thresholds})
    return MagnesiumRoc(
        n=len(mg), n_outcomes=positives, auroc=area["auroc"], ci_low=area["ci_low"], ci_high=area["ci_high"],
        youden_cutoff=youden["cutoff"], youden_sensitivity=youden["sensitivity"],
        youden_specificity=youden["specificity"], published_cutoff=cutoff,
        published_sensitivity=float((mg[outcome] <= cutoff).mean()),
        published_specificity=float((mg[~outcome] > cutoff).mean()), curve=curve)


def calibration_bins(frame: pd.DataFrame) -> pd.DataFrame:
    """Mean predicted risk and observed rate per decile of predicted risk; small bins are dropped."""
    limit = small_cell_limit()
    if len(frame) == 0:
        return pd.DataFrame(columns=["bin", "n", "mean_predicted", "observed_rate"])
    bins = pd.qcut(frame["risk_probability"].rank(method="first"), q=min(CALIBRATION_BINS, len(frame)),
                   labels=False)
    grouped = frame.assign(bin=bins).groupby("bin").agg(
        n=("outcome", "size"), mean_predicted=("risk_probability", "mean"),
        observed_rate=("outcome", "mean")).reset_index()
    return grouped[grouped["n"] >= limit].reset_index(drop=True)
