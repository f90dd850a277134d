"""Characteristics compared between groups (OP vs non-OP, fracture vs none), the way Table 1
does: |skewness| > 1 as median [IQR] with Kruskal-Wallis, otherwise mean (SD) with one-way
ANOVA (for two groups the same as Student's t). Censored laboratory values (`<0.20`, `>150`)
are not averaged as if exact: the loader leaves them out of the value and this table counts
them. Raw BMD is compared only within one manufacturer (Hologic and GE Lunar differ
systematically), one row per manufacturer that may be named (`strata`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from ..describe import decimals, is_skewed, statistic, summary
from .disclosure import is_small, small_cell_limit
from .strata import manufacturer_strata, not_compared

SUPPRESSED = "suppressed"


@dataclass
class GroupRow:
    variable: str
    label: str
    statistic: str
    cells: dict[str, str]
    values: dict[str, dict | None]
    p_value: float | None = None
    test: str | None = None
    n_censored: int | None = 0   # None: a small count, withheld
    n_left_out: int | None = 0          # rows not compared (BMD without a nameable manufacturer)


@dataclass
class GroupTable:
    groups: list[str]
    rows: list[GroupRow] = field(default_factory=list)

    def frame(self) -> pd.DataFrame:
        records = []
        for row in self.rows:
            for group in self.groups:
                numbers = row.values.get(group)
                records.append({"variable": row.variable, "label": row.label, "statistic": row.statistic,
                                "group": group, "shown": row.cells.get(group, ""),
                                "suppressed": row.cells.get(group) == SUPPRESSED,
                                **(numbers or {}), "p_value": row.p_value, "test": row.test,
                                "n_censored": row.n_censored, "n_left_out": row.n_left_out})
        return pd.DataFrame.from_records(records)


def continuous_row(frame: pd.DataFrame, group_column: str, groups: dict, column: str, label: str,
                   limit: int | None = None) -> GroupRow:
    """One continuous characteristic by group (groups: value of group_column -> shown name)."""
    limit = small_cell_limit() if limit is None else limit
    values = frame[column].astype("float64")
    present = values.dropna()
    skewed = is_skewed(present)
    digits = decimals(present)
    cells, numbers, samples = {}, {}, []
    for value, name in groups.items():
        group_values = values[frame[group_column] == value].dropna()
        if is_small(len(group_values), limit) or is_small(int((frame[group_column] == value).sum()), limit):
            cells[name], numbers[name] = SUPPRESSED, None
        elif len(group_values) == 0:
            cells[name], numbers[name] = "–", {"n": 0}
        else:
            cells[name], numbers[name] = summary(group_values, skewed, digits)
        if numbers[name] is not None and is_small(int((frame[group_column] == value).sum()) - len(group_values), limit):
            numbers[name]["n"] = None     # the group's n minus this n would give a small missing count away
        if len(group_values) >= 2:
            samples.append(group_values.to_numpy())
    p_value, test = None, None
    if len(samples) >= 2 and all(numbers[n] is not None for n in groups.values()):
        outcome = stats.kruskal(*samples) if skewed else stats.f_oneway(*samples)
        p_value = float(outcome.pvalue) if np.isfinite(outcome.pvalue) else None
        test = "Kruskal-Wallis" if skewed else "ANOVA"
    censored_column = f"{column}_censored"
    n_censored = int(frame[censored_column].fillna(False).astype(bool).sum()) if censored_column in frame else 0
    return GroupRow(column, label, statistic(skewed), cells, numbers, p_value, test,
                    None if is_small(n_censored, limit) else n_censored)


def compare(frame: pd.DataFrame, group_column: str, groups: dict, variables, bmd_columns=(),
            limit: int | None = None) -> GroupTable:
    """Patients per group, each continuous variable, and each BMD site within each manufacturer."""
    limit = small_cell_limit() if limit is None else limit
    table = GroupTable(groups=list(groups.values()))
    counts = {name: int((frame[group_column] == value).sum()) for value, name in groups.items()}
    table.rows.append(GroupRow("n", "Patients", "n",
                               {g: (SUPPRESSED if is_small(n, limit) else f"{n:,}") for g, n in counts.items()},
                               {g: (None if is_small(n, limit) else {"n": n}) for g, n in counts.items()}))
    for column, label in variables:
        table.rows.append(continuous_row(frame, group_column, groups, column, label, limit))
    if bmd_columns:
        for stratum in manufacturer_strata(frame, limit):
            for column, label in bmd_columns:
                row = continuous_row(stratum.rows, group_column, groups, column, f"{label} ({stratum.name})", limit)
                row.variable = f"{column}|{stratum.manufacturer}"
                table.rows.append(row)
        left_out = not_compared(frame, [c for c, _ in bmd_columns], limit)
        if left_out:
            table.rows.append(GroupRow("bmd_without_manufacturer", "BMD without a recognised manufacturer, or of "
                                       "a manufacturer with few patients (not compared)", "n",
                                       {g: "" for g in groups.values()},
                                       {g: {} for g in groups.values()},
                                       n_left_out=None if is_small(left_out, limit) else left_out))
    return table


def corrected_calcium_row(frame: pd.DataFrame, group_column: str, groups: dict, limit: int | None = None) -> GroupRow:
    """Albumin-corrected calcium (the mart's `calcium_corrected_mmol_l`, Payne, dbt) as a Table-1 row
    for any grouping; Table 1 itself is the report's."""
    return continuous_row(frame, group_column, groups, "calcium_corrected_mmol_l",
                          "Calcium, albumin-corrected (Payne), mmol/L", limit)
