"""What disclosure control costs at registry scale: the snapshot's secondary suppression of the
prevalence marts (at publication) and the report's own (Table 1 in the whole release, the heat
map), for N patients.

The cost depends on how many cells are small, hidden and linked, not on rows, so the cohort must
have the small strata a real registry has: a registry that grew from a few dozen scans a year
to tens of thousands, few patients under 50 (fewer still with severe osteoporosis), men a
fifth, magnesium measured at about 60% of scans, repeat scans every 1-3 years. The benchmark
generates such a cohort of N patients (numpy, seeded; a real 1M-patient warehouse takes far
longer to build here than the point of this measurement), computes the aggregates exactly as the
marts define them (each patient's latest scan with magnesium per calendar year; Table 1 from the
latest scan with a category), applies primary suppression as dbt does, and then times exactly
the functions `osteoreg publish` and `osteoreg report` call. Usage:
    python benchmarks/bench_disclosure.py [--patients 1000000] [--seed 1]
"""
from __future__ import annotations

import argparse
import copy
import time

import numpy as np
import pandas as pd

from etl import terminology
from etl.disclosure.policy import policy_from
from etl.disclosure.prevalence import BY_YEAR, DETAIL, GRID, MARGIN, prevalence_release, protect_prevalence
from etl.report import disclosure, statistics
from etl.report.bins import magnesium_tscore_bins
from etl.report.disclosure import protect_bins, protect_table1_in_release
from etl.report.write import roc_sums
from etl.rules import dbt_var

FIRST_YEAR, LAST_YEAR = 2004, 2025


def cohort(n_patients: int, seed: int) -> pd.DataFrame:
    """One row per scan: patient, year, sex, age, categories, magnesium and the other labs."""
    rng = np.random.default_rng(seed)
    years = np.arange(FIRST_YEAR, LAST_YEAR + 1)
    weights = np.exp(0.35 * (years - FIRST_YEAR))          # a registry that grew ~1,500-fold
    first = rng.choice(years, n_patients, p=weights / weights.sum())
    scans = np.minimum(rng.geometric(0.55, n_patients), 5)
    patient = np.repeat(np.arange(n_patients), scans)
    order = np.concatenate([np.arange(k) for k in scans]) if len(scans) else np.array([], dtype=int)
    gaps = rng.integers(1, 4, len(patient)) * (order > 0)
    year = np.repeat(first, scans) + pd.Series(gaps).groupby(patient).cumsum().to_numpy()
    keep = year <= LAST_YEAR
    patient, year, order = patient[keep], year[keep], order[keep]
    sex = np.where(rng.random(n_patients) < 0.8, "F", "M")[patient]
    base_age = np.clip(rng.normal(66, 11, n_patients), 20, 100)
    age = np.floor(base_age[patient] + (year - np.repeat(first, scans)[keep]))
    t_score = rng.normal(-0.4 - 0.045 * (age - 50), 1.1)
    fracture = rng.random(len(patient)) < 0.25
    who = np.select([t_score <= -2.5, t_score < -1.0], ["osteoporosis", "osteopenia"], "normal")
    who = np.where((who == "osteoporosis") & fracture, "severe_osteoporosis", who)
    applies = (age >= 50) | ((sex == "F") & (age >= 46) & (rng.random(len(patient)) < 0.5))
    z_score = t_score + 0.03 * (age - 30)
    iscd = np.where(applies, who, np.where(z_score <= -2.0, "below_expected_range_for_age",
                                           "within_expected_range_for_age"))
    mg = np.where(rng.random(len(patient)) < 0.6, rng.normal(0.83, 0.085, len(patient)), np.nan)
    vitd = np.where(rng.random(len(patient)) < 0.5, rng.lognormal(np.log(60), 0.5, len(patient)), np.nan)
    frame = pd.DataFrame({"patient": patient, "scan": order, "year": year, "sex": sex, "age_at_scan": age,
                          "who_category": who, "iscd_category": iscd, "min_t_score": t_score, "mg_mmol_l": mg,
                          "vitd_nmol_l": vitd})
    deficient, cutoff = float(dbt_var("mg_deficient_below_mmol_l")), float(dbt_var("mg_op_cutoff_at_or_below_mmol_l"))
    present = frame["mg_mmol_l"].notna()
    frame["mg_deficient"] = pd.array(np.where(present, frame["mg_mmol_l"] < deficient, None), dtype="boolean")
    frame["mg_below_op_cutoff"] = pd.array(np.where(present, frame["mg_mmol_l"] <= cutoff, None), dtype="boolean")
    frame["vitd_status"] = pd.cut(frame["vitd_nmol_l"], [-np.inf, 50, 75, np.inf], right=False,
                                  labels=["deficient", "insufficient", "sufficient"]).astype(object)
    frame["bmi"] = rng.normal(26, 4, len(frame))
    for column in ("calcium_mmol_l", "phosphate_mmol_l", "pth_ng_l", "crp_mg_l", "beta_ctx_ng_ml", "p1np_ng_ml"):
        frame[column] = np.where(rng.random(len(frame)) < 0.4, rng.lognormal(0.0, 0.3, len(frame)), np.nan)
    for column in ("bmd_lumbar_spine", "bmd_femoral_neck", "bmd_total_hip"):
        frame[column] = 0.9 + 0.1 * frame["min_t_score"] + rng.normal(0, 0.05, len(frame))
    bounds = [int(b) for b in dbt_var("age_band_lower_bounds")]
    labels = [f"<{bounds[0]}"] + [f"{lo}-{hi - 1}" for lo, hi in zip(bounds, bounds[1:])] + [f"{bounds[-1]}+"]
    frame["age_band"] = pd.cut(frame["age_at_scan"], [-np.inf] + bounds + [np.inf], right=False, labels=labels).astype(str)
    return frame


def _cells(frame: pd.DataFrame, keys: list[str], policy) -> list[dict]:
    grouped = frame.groupby(keys, dropna=False).agg(n=("mg_deficient", "size"), k=("mg_deficient", "sum"))
    rows = []
    for key, (n, k) in zip(grouped.index, grouped.itertuples(index=False)):
        hidden = any(policy.is_small(c) for c in (n, k, n - k))
        rows.append(dict(zip(keys, key if isinstance(key, tuple) else (key,)))
                    | {"n_assessed": None if hidden else int(n), "n_deficient": None if hidden else int(k),
                       "suppressed": hidden})
    return rows


def prevalence_marts(scans: pd.DataFrame, policy) -> tuple[list[dict], list[dict], list[dict]]:
    """The three marts with dbt's primary suppression: each patient's latest scan with magnesium
    in each year (macro mg_prevalence_population)."""
    population = scans[scans["mg_mmol_l"].notna()].sort_values("scan").groupby(["patient", "year"]).tail(1)
    detail = _cells(population, ["year", "sex", "age_band", "who_category"], policy)
    by_year = _cells(population, ["year"], policy)
    grid = []
    for keys, margin in ((["who_category", "age_band"], {}), (["who_category"], {"age_band": MARGIN}),
                         (["age_band"], {"who_category": MARGIN})):
        grid += [row | margin for row in _cells(population, keys, policy)]
    grid += [row | {"who_category": MARGIN, "age_band": MARGIN} for row in _cells(population.assign(g=1), ["g"], policy)]
    return detail, by_year, [{k: v for k, v in row.items() if k != "g"} for row in grid]


def published(rows: list[dict], release, table: str, keys: tuple[str, ...]) -> list[dict]:
    hidden = set(release.suppressed())
    return [row | ({"n_assessed": None, "n_deficient": None, "suppressed": True}
                   if (table,) + tuple(row[k] for k in keys) in hidden else {}) for row in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    policy = policy_from(dbt_var)   # the cohort's marts are made here under the project's defaults
    disclosure._ACTIVE["policy"] = policy   # what `activate` sets from a snapshot's rules
    started = time.perf_counter()
    scans = cohort(args.patients, args.seed)
    detail, by_year, grid = prevalence_marts(scans, policy)
    latest = scans.sort_values("scan").groupby("patient").tail(1)
    analysis = latest.drop(columns=["patient", "scan", "year", "age_band"]).reset_index(drop=True)
    bins = magnesium_tscore_bins(analysis)
    correlations = statistics.spearman(analysis)
    sums = roc_sums(analysis, terminology.osteoporosis_categories())
    table1_rows = statistics.table1(analysis)   # computed once; timed protection below copies it
    prepared = time.perf_counter() - started
    print(f"{args.patients:,} patients, {len(scans):,} scans, {int(scans['year'].nunique())} years; "
          f"{len(detail):,} prevalence cells ({sum(r['suppressed'] for r in detail):,} small), "
          f"{len(bins):,} heat-map bins ({int((bins['patients'] < policy.limit).sum()):,} small); "
          f"limit {policy.limit}; data prepared in {prepared:.1f} s")

    started, cpu = time.perf_counter(), time.process_time()
    release = prevalence_release(detail, by_year, grid)
    outcome = protect_prevalence(release, policy)
    publish_seconds, publish_cpu = time.perf_counter() - started, time.process_time() - cpu
    snapshot = (published(detail, release, DETAIL, ("year", "sex", "age_band", "who_category")),
                published(by_year, release, BY_YEAR, ("year",)),
                published(grid, release, GRID, ("who_category", "age_band")))

    started, cpu = time.perf_counter(), time.process_time()
    pairs = {c.variable: c.n for c in correlations if c.variable != "min_t_score"}
    linked = protect_table1_in_release(lambda: copy.deepcopy(table1_rows), sums, pairs, snapshot)
    _, bins_tally = protect_bins({(r.mg_from_mmol_l, r.t_score_from): int(r.patients)
                                  for r in bins.itertuples(index=False)}, int(bins["patients"].sum()))
    report_seconds, report_cpu = time.perf_counter() - started, time.process_time() - cpu
    print(f"  publish: prevalence {outcome.total_primary} primary + {outcome.total_secondary} secondary "
          f"({outcome.audit.solves} LP solves): {publish_seconds:.2f} s wall, {publish_cpu:.2f} s CPU")
    print(f"  report: Table 1 {linked.tally.primary} primary + {linked.tally.secondary} secondary"
          f"{' (magnesium withheld)' if linked.withheld else ''}, heat map {bins_tally.primary} primary + "
          f"{bins_tally.secondary} secondary: {report_seconds:.2f} s wall, {report_cpu:.2f} s CPU")


if __name__ == "__main__":
    main()
