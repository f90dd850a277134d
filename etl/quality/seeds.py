"""Expectation parameters read from the dbt seeds, so suites never restate a clinical number.

Suites refer to seed facts with Great Expectations' own `{"$PARAMETER": name}` syntax; the names
below are the whole vocabulary. The seeds are the ones the dbt models use, read through `etl.terminology`.
"""
from __future__ import annotations

import datetime as dt
from functools import cache
from pathlib import Path

from .. import terminology
from ..paths import SEEDS_DIR


@cache
def _seed_parameters(seeds_dir: Path) -> dict[str, object]:
    parameters: dict[str, object] = {}
    # plausibility_<measure>_low / _high: physiological limits (plausibility_limits.csv)
    for measure, (low, high) in terminology.plausibility_limits(seeds_dir).items():
        parameters[f"plausibility_{measure}_low"] = low
        parameters[f"plausibility_{measure}_high"] = high
    parameters["dxa_sites"] = sorted(terminology.dxa_sites(seeds_dir))
    parameters["dxa_sides"] = list(terminology.dxa_sides(seeds_dir))
    parameters["result_statuses"] = sorted(terminology.status_letters(seeds_dir))
    si_units = terminology.si_unit_by_analyte(seeds_dir)
    parameters["analytes"] = sorted(si_units)
    # (analyte, SI unit) pairs: after conversion every analyte carries exactly its SI unit
    parameters["analyte_si_units"] = sorted([analyte, unit] for analyte, unit in si_units.items())
    return parameters


def expectation_parameters(today: dt.date | None = None, seeds_dir: Path = SEEDS_DIR) -> dict[str, object]:
    """Every `$PARAMETER` a suite may use: seed facts plus the run's date (for "not in the future").

    `today` and `tomorrow` are ISO dates and `this_year` an integer; timestamps are checked against `tomorrow` (exclusive) so
    a result collected earlier today is not "in the future".
    """
    today = today or dt.date.today()
    parameters = dict(_seed_parameters(Path(seeds_dir)))
    parameters["today"] = today.isoformat()
    parameters["tomorrow"] = (today + dt.timedelta(days=1)).isoformat()
    parameters["this_year"] = today.year
    return parameters
