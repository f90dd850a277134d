"""Expectation parameters read from the dbt seeds, so suites never restate a clinical number.

Suites refer to seed facts with Great Expectations' own `{"$PARAMETER": name}` syntax; the names
below are the whole vocabulary. The seeds are the ones the dbt models use, read as CSV files.
"""
from __future__ import annotations

import csv
import datetime as dt
from functools import cache
from pathlib import Path

from ..errors import OsteoregError
from ..paths import SEEDS_DIR


def _rows(name: str, seeds_dir: Path) -> list[dict[str, str]]:
    path = seeds_dir / name
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            return list(csv.DictReader(handle))
    except OSError as error:
        raise OsteoregError(f"The seed {path} cannot be read: {error.strerror}.") from error


def _distinct(values) -> list[str]:
    return sorted({value for value in values if value})


@cache
def _seed_parameters(seeds_dir: Path) -> dict[str, object]:
    parameters: dict[str, object] = {}
    # plausibility_<measure>_low / _high: physiological limits (plausibility_limits.csv)
    for row in _rows("plausibility_limits.csv", seeds_dir):
        parameters[f"plausibility_{row['measure']}_low"] = float(row["low"])
        parameters[f"plausibility_{row['measure']}_high"] = float(row["high"])
    dxa = _rows("dxa_codes.csv", seeds_dir)
    parameters["dxa_sites"] = _distinct(row["site"] for row in dxa)
    parameters["dxa_sides"] = _distinct(row["side"] for row in dxa)
    statuses = _rows("result_statuses.csv", seeds_dir)
    parameters["result_statuses"] = _distinct(row["status"] for row in statuses)
    analytes = _rows("analytes.csv", seeds_dir)
    parameters["analytes"] = _distinct(row["analyte"] for row in analytes)
    # (analyte, SI unit) pairs: after conversion every analyte carries exactly its SI unit
    parameters["analyte_si_units"] = sorted([row["analyte"], row["si_unit"]] for row in analytes)
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
