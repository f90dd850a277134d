"""Minimum sample size for a prediction model with a binary outcome (Riley et al., BMJ 2020;368:m441).

The largest of three criteria: (1) expected uniform shrinkage of at least S (0.9), (2) optimism
in Nagelkerke's R2 of at most delta (0.05), (3) the overall outcome proportion estimated within
a margin (0.05). The anticipated Cox-Snell R2 is a share of its maximum (settings; Riley's
conservative default when no earlier model is known). `p` counts candidate parameters, not the
selected ones, because selection spends them too.
"""
from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class SampleSize:
    required: int
    available: int
    events: int
    parameters: int
    criteria: dict

    @property
    def enough(self) -> bool:
        return self.available >= self.required


def riley_minimum(n: int, events: int, parameters: int, r2_nagelkerke: float, shrinkage: float,
                  optimism: float, margin: float, z: float) -> SampleSize:
    phi = events / n
    log_null_per_row = phi * math.log(phi) + (1 - phi) * math.log(1 - phi)
    max_r2_cs = 1 - math.exp(2 * log_null_per_row)
    r2_cs = r2_nagelkerke * max_r2_cs
    n1 = parameters / ((shrinkage - 1) * math.log(1 - r2_cs / shrinkage))
    s2 = r2_cs / (r2_cs + optimism * max_r2_cs)
    n2 = parameters / ((s2 - 1) * math.log(1 - r2_cs / s2))
    n3 = (z / margin) ** 2 * phi * (1 - phi)
    criteria = {"shrinkage": math.ceil(n1), "optimism": math.ceil(n2), "overall_risk": math.ceil(n3),
                "anticipated_r2_cox_snell": r2_cs, "max_r2_cox_snell": max_r2_cs}
    return SampleSize(required=max(math.ceil(n1), math.ceil(n2), math.ceil(n3)), available=n, events=events,
                      parameters=parameters, criteria=criteria)


def sentence(model_name: str, size: SampleSize, action: str) -> str:
    consequence = "so it is not fitted" if action == "refuse" else "so its estimates may be overfitted"
    return (f"The {model_name} model has {size.available} assessments ({size.events} with osteoporosis) for "
            f"{size.parameters} candidate parameters, fewer than the {size.required} that Riley et al. 2020 "
            f"require, {consequence}.")
