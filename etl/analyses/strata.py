"""The scanner-manufacturer strata raw BMD is compared within, and which of them may be named.

`fct_bmd_assessment.manufacturer` holds the registry's value from seed dxa_manufacturers (staging
maps the sender's free text; the text itself never reaches the marts). Raw BMD differs
systematically between makers (Hologic and GE Lunar), so it is compared only within one. A
stratum is compared, and named, only when it is one known manufacturer (not `other`, which
gathers every text the seed does not list) and holds at least the small-cell limit of patients:
a smaller one would say that so few patients were scanned on that maker's machine.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pandas as pd

from ..terminology import OTHER_DXA_MANUFACTURER, dxa_manufacturer_names
from .disclosure import small_cell_limit


@dataclass(frozen=True)
class Stratum:
    manufacturer: str          # the registry's value (seed dxa_manufacturers)
    name: str                  # its name for reports
    rows: pd.DataFrame


def manufacturer_strata(frame: pd.DataFrame, limit: int | None = None) -> Iterator[Stratum]:
    """The frame's rows of each nameable manufacturer, in the seed's order."""
    if "manufacturer" not in frame:
        return
    limit = small_cell_limit() if limit is None else limit
    for manufacturer, name in dxa_manufacturer_names().items():
        if manufacturer == OTHER_DXA_MANUFACTURER:
            continue
        rows = frame[frame["manufacturer"] == manufacturer]
        if len(rows) >= limit:
            yield Stratum(manufacturer, name, rows)


def not_compared(frame: pd.DataFrame, columns: list[str], limit: int | None = None) -> int:
    """Rows with some BMD that no stratum compares (no manufacturer, `other`, or a small stratum)."""
    compared = pd.Series(False, index=frame.index)
    for stratum in manufacturer_strata(frame, limit):
        compared[stratum.rows.index] = True
    return int((~compared & frame[columns].notna().any(axis=1)).sum())
