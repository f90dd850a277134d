"""A hand-made registry published both ways: its prevalence tables (patient-years) and Table 1
(patients), protected table by table or as one release, and what the attacker makes of each."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd

from etl.disclosure.audit import attack_release
from etl.disclosure.policy import Policy
from etl.disclosure.prevalence import BY_YEAR, DETAIL, GRID, MARGIN, prevalence_release, protect_prevalence
from etl.report import statistics
from etl.report.disclosure import protect_table1, protect_table1_in_release

CATEGORIES = ("normal", "osteopenia", "osteoporosis")


def cohort(years: dict[int, int], seed: int, mg_share: float = 1.0) -> pd.DataFrame:
    """Patients scanned once each (so patients with magnesium and patient-years coincide), aged
    50 or more (their category is the WHO one), with the year of their scan."""
    rng = np.random.default_rng(seed)
    frames = []
    for year, n in years.items():
        frames.append(pd.DataFrame({"year": year, "sex": rng.choice(["F", "M"], n, p=[0.8, 0.2]),
                                    "age_at_scan": rng.integers(50, 90, n).astype(float),
                                    "who_category": rng.choice(CATEGORIES, n, p=[0.3, 0.45, 0.25])}))
    frame = pd.concat(frames, ignore_index=True)
    frame["iscd_category"] = frame["who_category"]
    frame["age_band"] = np.where(frame["age_at_scan"] < 65, "50-64", "65+")
    frame["min_t_score"] = frame["who_category"].map({"normal": 0.0, "osteopenia": -1.8, "osteoporosis": -3.0})
    mg = np.where(rng.random(len(frame)) < mg_share, rng.normal(0.82, 0.08, len(frame)), np.nan)
    frame["mg_mmol_l"] = mg
    frame["mg_deficient"] = pd.array(np.where(np.isnan(mg), None, mg < 0.75), dtype="boolean")
    frame["mg_below_op_cutoff"] = pd.array(np.where(np.isnan(mg), None, mg <= 0.845), dtype="boolean")
    for column, _ in statistics.CONTINUOUS:
        if column not in frame:
            frame[column] = np.nan
    frame["vitd_status"] = None
    return frame


def _cells(frame: pd.DataFrame, keys: list[str]) -> list[dict]:
    grouped = frame.groupby(keys, dropna=False).agg(n=("mg_deficient", "size"), k=("mg_deficient", "sum"))
    return [dict(zip(keys, key if isinstance(key, tuple) else (key,))) | {"n_assessed": int(r.n), "n_deficient": int(r.k)}
            for key, r in grouped.iterrows()]


def published_prevalence(frame: pd.DataFrame, policy: Policy) -> tuple[list[dict], list[dict], list[dict]]:
    """The three prevalence marts of the patients with magnesium, protected as publish does."""
    population = frame[frame["mg_mmol_l"].notna()]
    detail = _cells(population, ["year", "sex", "age_band", "who_category"])
    by_year = _cells(population, ["year"])
    grid = []
    for c in list(CATEGORIES) + [MARGIN]:
        for a in ["50-64", "65+", MARGIN]:
            part = population[((population["who_category"] == c) | (c == MARGIN))
                              & ((population["age_band"] == a) | (a == MARGIN))]
            if len(part):
                grid.append({"who_category": c, "age_band": a, "n_assessed": len(part),
                             "n_deficient": int(part["mg_deficient"].sum())})
    release = prevalence_release(detail, by_year, grid)
    protect_prevalence(release, policy)
    hidden = set(release.suppressed())
    keys = {DETAIL: ("year", "sex", "age_band", "who_category"), BY_YEAR: ("year",), GRID: ("who_category", "age_band")}
    published = []
    for table, rows in ((DETAIL, detail), (BY_YEAR, by_year), (GRID, grid)):
        out = []
        for row in rows:
            key = (table,) + tuple(row[k] for k in keys[table])
            out.append(row | ({"n_assessed": None, "n_deficient": None, "suppressed": True} if key in hidden
                              else {"suppressed": False}))
        published.append(out)
    return tuple(published)


def table1_rows(table) -> list[dict]:
    """Table 1 as its CSV reads back (empty cells as None)."""
    frame = table.frame().astype(object)
    return [{k: (None if v is None or (isinstance(v, float) and np.isnan(v)) else
                 str(v) if k != "suppressed" else str(bool(v)).lower()) for k, v in row.items()}
            for row in frame.to_dict("records")]


def publish_both_ways(frame: pd.DataFrame, policy: Policy, whole: bool):
    """(prevalence marts, Table 1 rows, withheld) with Table 1 protected alone or in the release."""
    prevalence = published_prevalence(frame, policy)
    analysis = frame.drop(columns=["year", "age_band"])
    if whole:
        linked = protect_table1_in_release(lambda: statistics.table1(analysis), None, None, prevalence)
        return prevalence, table1_rows(linked.table), linked.withheld
    table = statistics.table1(analysis)
    protect_table1(table)
    return prevalence, table1_rows(table), False


def attack(prevalence, rows, policy: Policy):
    return attack_release(*prevalence, rows, SimpleNamespace(tables={}), policy, [])
