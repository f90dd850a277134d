"""The picture of magnesium against the lowest T-score as counts in bins, not points.

A point per patient publishes each patient's pair of values; a binned count publishes only how
many patients share a rectangle, and a bin with 1 to limit - 1 patients (or one that would give
such a bin away from the total) is left blank by `etl.report.disclosure.protect_bins`. The bin
widths are presentation choices, not clinical rules: 0.05 mmol/L of magnesium (about a sixth of
the reference range) and half a T-score unit.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

MG_BIN_MMOL_L = 0.05
T_SCORE_BIN = 0.5
COLUMNS = ["mg_from_mmol_l", "mg_to_mmol_l", "t_score_from", "t_score_to", "patients"]


def magnesium_tscore_bins(frame: pd.DataFrame) -> pd.DataFrame:
    """Patients per (magnesium, lowest T-score) rectangle; rectangles without patients left out."""
    pair = frame[["mg_mmol_l", "min_t_score"]].astype("float64").dropna()
    if pair.empty:
        return pd.DataFrame(columns=COLUMNS)
    mg = np.floor(pair["mg_mmol_l"].to_numpy() / MG_BIN_MMOL_L + 1e-9).astype(int)
    t = np.floor(pair["min_t_score"].to_numpy() / T_SCORE_BIN + 1e-9).astype(int)
    counts = pd.DataFrame({"mg": mg, "t": t}).value_counts().reset_index(name="patients")
    return pd.DataFrame({
        "mg_from_mmol_l": np.round(counts["mg"] * MG_BIN_MMOL_L, 4),
        "mg_to_mmol_l": np.round((counts["mg"] + 1) * MG_BIN_MMOL_L, 4),
        "t_score_from": counts["t"] * T_SCORE_BIN, "t_score_to": (counts["t"] + 1) * T_SCORE_BIN,
        "patients": counts["patients"].astype(int)}).sort_values(["mg_from_mmol_l", "t_score_from"]).reset_index(drop=True)
