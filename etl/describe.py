"""How a continuous characteristic is summarised in a table, for the report's Table 1 and the
studies' group tables alike, so the two cannot disagree on when a median is shown or how many
decimals a value gets.

Bulmer, Principles of Statistics (1979): |skewness| > 1 is highly skewed, so such a variable is
summarised as median [IQR] (and compared by Kruskal-Wallis); otherwise mean (SD) (and one-way
ANOVA). The decimals suit the variable's scale over all its values, so every group of one row
shows the same number of them.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

SKEWNESS_FOR_MEDIAN = 1.0


def is_skewed(values: pd.Series) -> bool:
    """True when the present values are highly skewed (shown as median [IQR])."""
    return len(values) > 2 and abs(float(stats.skew(values))) > SKEWNESS_FOR_MEDIAN


def decimals(values: pd.Series) -> int:
    """Decimals that suit the variable's scale (0.82 mmol/L needs two, 65 ng/L needs none)."""
    median = float(np.nanmedian(np.abs(values))) if len(values) else 0.0
    return 2 if median < 10 else 1 if median < 100 else 0


def fixed(value: float, digits: int) -> str:
    """A number with thousands separated and `digits` decimals."""
    return f"{value:,.{digits}f}"


def summary(values: pd.Series, skewed: bool, digits: int) -> tuple[str, dict]:
    """A group's cell and its numbers: median [q1–q3] when skewed, else mean (SD); `values` is
    the group's present values (at least one)."""
    if skewed:
        q1, median, q3 = np.percentile(values, [25, 50, 75])
        return (f"{fixed(median, digits)} [{fixed(q1, digits)}–{fixed(q3, digits)}]",
                {"n": len(values), "median": float(median), "q1": float(q1), "q3": float(q3)})
    mean, sd = float(values.mean()), float(values.std(ddof=1))
    return f"{fixed(mean, digits)} ({fixed(sd, digits)})", {"n": len(values), "mean": mean, "sd": sd}


def statistic(skewed: bool) -> str:
    """The row's statistic as the table names it."""
    return "median [IQR]" if skewed else "mean (SD)"
