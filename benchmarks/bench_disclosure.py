"""What disclosure control costs at registry scale: the report's Table 1 and heat-map protection,
and the snapshot's secondary suppression of the prevalence marts, for N patients.

The cost depends on how many cells are hidden and linked, not on rows, so the benchmark takes a
built warehouse (e.g. the demo) and resamples its patients' analysis rows and prevalence
population to N (bootstrap with replacement, years kept), then times exactly the functions the
report and the publication call. Usage:
    python benchmarks/bench_disclosure.py WAREHOUSE [--patients 1000000]
"""
from __future__ import annotations

import argparse
import itertools
import time
from pathlib import Path

import numpy as np
import pandas as pd

from etl.disclosure import load_policy
from etl.disclosure.prevalence import prevalence_release, protect_prevalence
from etl.publish import open_snapshot
from etl.report import dataset, statistics
from etl.report.bins import magnesium_tscore_bins
from etl.report.disclosure import protect_bins, protect_table1
from etl.scoring.settings import DEFAULT as SCORING

POPULATION = """
SELECT year(a.scan_date) AS year, a.sex, a.age_band, a.who_category, f.mg_deficient
FROM marts.fct_bmd_assessment a JOIN marts.fct_deficiency_flags f USING (assessment_id)
WHERE f.mg_mmol_l IS NOT NULL
QUALIFY row_number() OVER (PARTITION BY a.patient_key, year(a.scan_date) ORDER BY a.scan_date DESC) = 1
"""


def _rows(frame: pd.DataFrame, policy, keys: list[str]) -> list[dict]:
    cells = frame.groupby(keys, dropna=False).agg(n=("mg_deficient", "size"), k=("mg_deficient", "sum")).reset_index()
    out = []
    for row in cells.to_dict("records"):
        n, k = int(row.pop("n")), int(row.pop("k"))
        hidden = any(policy.is_small(c) for c in (n, k, n - k))
        out.append({key: (None if pd.isna(v) else v) for key, v in row.items()}
                   | {"n_assessed": None if hidden else n, "n_deficient": None if hidden else k, "suppressed": hidden})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("warehouse", type=Path)
    parser.add_argument("--patients", type=int, default=1_000_000)
    args = parser.parse_args()
    policy = load_policy(None)
    with open_snapshot(args.warehouse) as conn:
        frame = dataset.analysis_set(conn)
        population = conn.sql(POPULATION).df()
    rng = np.random.default_rng(1)
    scale = args.patients / len(frame)
    frame = frame.iloc[rng.integers(0, len(frame), args.patients)].reset_index(drop=True)
    population = population.iloc[rng.integers(0, len(population), int(len(population) * scale))]

    table1 = statistics.table1(frame)
    started = time.perf_counter()
    with_mg = frame[frame["mg_mmol_l"].notna()]
    positives = int(with_mg["who_category"].isin(SCORING.outcome_categories).sum())
    tally = protect_table1(table1, SCORING.outcome_categories, {"outcomes": positives})
    bins = magnesium_tscore_bins(frame)
    _, bins_tally = protect_bins({(r.mg_from_mmol_l, r.t_score_from): int(r.patients)
                                  for r in bins.itertuples(index=False)}, int(bins["patients"].sum()))
    report_seconds = time.perf_counter() - started

    detail = _rows(population, policy, ["year", "sex", "age_band", "who_category"])
    by_year = _rows(population, policy, ["year"])
    grid = []
    known = population.dropna(subset=["who_category", "age_band"])
    for c, a in itertools.product(sorted(known["who_category"].unique()) + ["all"],
                                  sorted(known["age_band"].unique()) + ["all"]):
        part = known[((known["who_category"] == c) | (c == "all")) & ((known["age_band"] == a) | (a == "all"))]
        if len(part):
            grid += [r | {"who_category": c, "age_band": a} for r in _rows(part.assign(g=1), policy, ["g"])]
    started = time.perf_counter()
    outcome = protect_prevalence(prevalence_release(detail, by_year, grid), policy)
    publish_seconds = time.perf_counter() - started
    print(f"{args.patients:,} patients ({len(population):,} patient-years), limit {policy.limit}:")
    print(f"  report: Table 1 {tally.primary} primary + {tally.secondary} secondary, heat map "
          f"{bins_tally.primary} + {bins_tally.secondary}: {report_seconds:.2f} s")
    print(f"  snapshot: prevalence {outcome.total_primary} primary + {outcome.total_secondary} secondary "
          f"({outcome.audit.solves} LP solves): {publish_seconds:.2f} s")


if __name__ == "__main__":
    main()
