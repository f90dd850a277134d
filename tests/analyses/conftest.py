"""A seeded frame shaped like the analyses' population (one row per patient), with known effects,
and the small-cell limit these tests count by."""
import numpy as np
import pandas as pd
import pytest

from etl.analyses.disclosure import limit_in_effect

# The limit the frame tests apply: outside `results.run` (which reads marts.rules_in_effect) no
# limit is in effect and the analyses refuse to count, so a test on a bare frame states its own.
SMALL_CELL_LIMIT = 11


@pytest.fixture(autouse=True)
def small_cell_limit():
    with limit_in_effect(SMALL_CELL_LIMIT):
        yield SMALL_CELL_LIMIT

# The effects the frame is drawn with: the adjusted OR of Mg <= 0.845 is the paper's 1.94.
TRUE_MG_OR = 1.94


def cohort(n: int, seed: int, mg_or: float = TRUE_MG_OR) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    age = rng.uniform(50, 85, n).round()
    height = rng.normal(160, 6, n)
    weight = rng.normal(66, 11, n)
    bmi = (weight / (height / 100) ** 2).round(2)
    mg = rng.normal(0.86, 0.08, n).round(3)
    frame = pd.DataFrame({
        "patient_key": [f"p{i}" for i in range(n)], "sex": "F", "age_at_scan": age, "weight_kg": weight,
        "bmi": bmi, "mg_mmol_l": mg, "phosphate_mmol_l": rng.normal(1.1, 0.15, n),
        "beta_ctx_ng_ml": rng.gamma(4, 0.1, n), "p1np_ng_ml": rng.gamma(5, 10, n),
        "calcium_mmol_l": rng.normal(2.35, 0.1, n), "vitd_nmol_l": rng.gamma(6, 10, n),
        "pth_ng_l": rng.gamma(8, 6, n), "crp_mg_l": rng.gamma(1.2, 3, n),
        "manufacturer": rng.choice(["hologic", "ge_lunar"], n),   # as the mart holds them
    })
    logit = (-1.0 + np.log(mg_or) * (mg <= 0.845) + np.log(1.067) * (age - 65) + np.log(0.894) * (bmi - 26)
             + np.log(2.229) * frame["beta_ctx_ng_ml"] - 0.004 * (frame["vitd_nmol_l"] - 60))
    frame["osteoporosis"] = rng.random(n) < 1 / (1 + np.exp(-logit))
    frame["has_fragility_fracture"] = rng.random(n) < np.where(frame["osteoporosis"], 0.3, 0.08)
    base = np.where(frame["manufacturer"] == "hologic", 0.0, 0.06)        # GE Lunar reads higher
    for column, centre in (("bmd_lumbar_spine", 0.95), ("bmd_femoral_neck", 0.72), ("bmd_total_hip", 0.85)):
        frame[column] = centre + base - 0.12 * frame["osteoporosis"] + rng.normal(0, 0.08, n)
    frame["min_t_score"] = -1.5 - 1.4 * frame["osteoporosis"] + rng.normal(0, 0.7, n)
    return frame


@pytest.fixture(scope="session")
def women():
    return cohort(1500, 20261202)
