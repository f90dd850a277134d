"""A nomogram of a logistic model: each predictor's scale in points, total points to probability.

The predictor whose effect over its range is largest spans 0-100 points; every other scale is
drawn in proportion (the usual construction, e.g. Harrell's rms::nomogram). Ranges are the 1st
to 99th percentiles of the patients, so no axis end is one patient's value.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

MAX_POINTS = 100.0


@dataclass(frozen=True)
class Scale:
    predictor: str
    values: list[float]           # tick values of the predictor
    points: list[float]           # their points


@dataclass(frozen=True)
class Nomogram:
    scales: list[Scale]
    total_points: list[float]     # ticks of the total-points axis
    probability: list[float]      # the probability at each total-points tick
    points_per_logit: float
    intercept_at_zero_points: float   # linear predictor when every predictor sits at 0 points


def build(intercept: float, coefficients: dict[str, float], ranges: dict[str, tuple[float, float]],
          ticks: int = 6) -> Nomogram:
    spans = {name: abs(beta) * (ranges[name][1] - ranges[name][0]) for name, beta in coefficients.items()}
    widest = max(spans.values())
    if widest <= 0:
        raise ValueError("A nomogram needs at least one predictor with an effect over its range.")
    scale = MAX_POINTS / widest
    # Zero points at the end of each range that gives the lowest risk.
    reference = {name: ranges[name][0] if beta >= 0 else ranges[name][1] for name, beta in coefficients.items()}
    scales = []
    for name, beta in coefficients.items():
        values = np.linspace(ranges[name][0], ranges[name][1], ticks)
        scales.append(Scale(name, [float(v) for v in values],
                            [float(scale * beta * (v - reference[name])) for v in values]))
    lp_zero = intercept + sum(beta * reference[name] for name, beta in coefficients.items())
    top = sum(MAX_POINTS * span / widest for span in spans.values())
    totals = np.linspace(0.0, top, 9)
    probability = [1.0 / (1.0 + math.exp(-(lp_zero + t / scale))) for t in totals]
    return Nomogram(scales, [float(t) for t in totals], probability, scale, float(lp_zero))


def ranges_of(frame: pd.DataFrame, columns) -> dict[str, tuple[float, float]]:
    return {c: tuple(float(v) for v in np.nanpercentile(frame[c].astype("float64"), [1, 99])) for c in columns}
