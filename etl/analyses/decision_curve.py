"""Decision curve analysis (Vickers & Elkin, Med Decis Making 2006;26:565): the net benefit of
treating (here: referring for DXA) patients whose predicted risk is at or above a threshold pt,

    net benefit = TP / n - FP / n * pt / (1 - pt),

beside treating everyone (prevalence - (1 - prevalence) * pt / (1 - pt)) and no one (0).
"""
from __future__ import annotations

import numpy as np
import pandas as pd


def net_benefit(predicted, outcome, thresholds) -> pd.DataFrame:
    p = np.asarray(predicted, dtype=np.float64)
    y = np.asarray(outcome, dtype=bool)
    n = len(y)
    prevalence = y.mean()
    rows = []
    for pt in thresholds:
        treated = p >= pt
        odds = pt / (1 - pt)
        tp, fp = int((treated & y).sum()), int((treated & ~y).sum())
        rows.append({"threshold": float(pt), "model": tp / n - fp / n * odds,
                     "treat_all": prevalence - (1 - prevalence) * odds, "treat_none": 0.0,
                     "n_treated": int(treated.sum())})
    return pd.DataFrame(rows)
