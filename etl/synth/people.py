"""What the synthetic patients and their scans are drawn from: ids, category values, DXA site
slots and the young-adult reference BMD. Both the cohort (the truth) and the messiness (how a
lab writes it) use them, so they live below both.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa

from . import text

MENOPAUSAL = ["", "pre", "peri", "post"]
ETHNICITY = ["white", "black", "asian", "hispanic", "other", ""]
ETHNICITY_P = [0.68, 0.08, 0.09, 0.08, 0.04, 0.03]
DXA_SITES = ["lumbar_spine_l1_l4", "femoral_neck", "femoral_neck", "total_hip", "total_hip", "radius_33"]
DXA_SIDES = [None, "left", "right", "left", "right", None]
# Young-adult reference BMD (g/cm2: mean, SD) per sex and site, roughly NHANES III / Hologic;
# the T-score is drawn first and the BMD written consistent with it.
_BMD_REFERENCE = {
    "F": {"lumbar_spine_l1_l4": (1.047, 0.110), "femoral_neck": (0.858, 0.120), "total_hip": (0.942, 0.122),
          "radius_33": (0.685, 0.055)},
    "M": {"lumbar_spine_l1_l4": (1.068, 0.112), "femoral_neck": (0.930, 0.137), "total_hip": (1.040, 0.144),
          "radius_33": (0.800, 0.060)},
}


def patient_ids(indices: np.ndarray) -> pa.Array:
    """`P0000001` for the first patient; the numbering is global across blocks."""
    return text.concat("P", text.zero_padded(np.asarray(indices) + 1, 7))


def bmd_reference(female: np.ndarray, slot: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Young-adult reference mean and SD for each DXA row (sex x site)."""
    means = np.array([[_BMD_REFERENCE[s][site][0] for site in DXA_SITES] for s in ("M", "F")])
    sds = np.array([[_BMD_REFERENCE[s][site][1] for site in DXA_SITES] for s in ("M", "F")])
    sex = female.astype(np.int64)
    return means[sex, slot], sds[sex, slot]
