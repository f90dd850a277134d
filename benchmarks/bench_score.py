"""Benchmark of `osteoreg score` at registry scale (osteoreg issue 15 target: 1.5M patients in
<= 15 s and <= 1.5 GiB peak RSS).

The marts scoring reads (`fct_bmd_assessment`, `fct_prescan_labs`, `fct_latest_lab_panel`) are
generated directly in DuckDB in a child process (deterministic hashes, no files, no dbt), in the
shape of the incremental issue's cohort: about 1.3 assessments per patient (about 4 DXA rows of
3 sites each), a fifth of the patients with labs and no DXA (the triage candidates). Keys have
the registry's shape (16-hex-digit patient pseudonyms, assessment id = key-YYYYMMDD), because
string length is much of what joins and writes of the ids cost. `marts.rules_in_effect` holds
the dbt project's defaults, as a build would record them. The outcome is drawn from the
generator's known truth (etl.synth.truth: non-linear magnesium, age, phosphate, P1NP,
beta-CTx). Figures:

- `first_run_seconds`: `score` on a warehouse without models: fit the three models on the
  bounded stratified sample (`max_fit_rows`), apply each to every assessment in one statement,
  rebuild the triage table.
- `rerun_seconds`: `score` again with nothing changed (change detection only).
- `apply_seconds`: scores deleted, `score` again: the stored versions applied to everything.
- `peak_rss_mib`: the scoring process's peak resident memory (the generator runs apart).
- `*_cpu_seconds`: CPU time of the same steps, and the machine's load average, because on a
  shared machine wall time mostly measures the neighbours.

    .venv/bin/python benchmarks/bench_score.py [--patients 1500000] [--workdir /tmp/osteoreg_bench_score]

Prints one JSON object.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET_SECONDS = 15
TARGET_RSS_MIB = 1536


def _u(expr: str, salt: str) -> str:
    """A deterministic uniform (0, 1) from a hash of an expression and a salt."""
    return f"(((hash({expr}, '{salt}') % 999983) + 0.5) / 999983.0)"


def _normal(expr: str, salt: str) -> str:
    """A deterministic standard normal draw (Box-Muller on two hashed uniforms)."""
    return f"(sqrt(-2 * ln({_u(expr, salt + 'a')})) * cos(2 * pi() * {_u(expr, salt + 'b')}))"


def _key(expr: str) -> str:
    """A key shaped as the registry's: 16 hex digits, as etl.identity's HMAC pseudonym (the
    assessment id is the key, '-' and the scan date, as int_dxa_scans_pivoted): string length
    is what joins and writes of the ids cost."""
    return f"left(sha256({expr}), 16)"


def _labs(key: str, missing: str) -> str:
    """Pre-scan lab columns; a whole panel is missing for about a fifth of the rows."""
    def value(sql: str) -> str:
        return f"CASE WHEN {_u(key, 'panel')} < {missing} THEN NULL ELSE {sql} END"
    return f"""
        {value(f"round(least(1.6, greatest(0.35, 0.85 + 0.085 * {_normal(key, 'mg')})), 2)")} AS mg_mmol_l,
        {value(f"round(1.1 + 0.18 * {_normal(key, 'p')}, 2)")} AS phosphate_mmol_l,
        {value(f"round(2.35 + 0.11 * {_normal(key, 'ca')}, 2)")} AS calcium_mmol_l,
        {value(f"round(60 + 25 * abs({_normal(key, 'd')}), 1)")} AS vitd_nmol_l,
        {value(f"round(46 * exp(0.38 * {_normal(key, 'pth')}), 0)")} AS pth_ng_l,
        {value(f"round(2 * exp({_normal(key, 'crp')}), 1)")} AS crp_mg_l,
        {value(f"round(least(2.5, greatest(0.03, 0.45 + 0.2 * abs({_normal(key, 'bctx')}))), 3)")} AS beta_ctx_ng_ml,
        {value(f"round(50 + 15 * abs({_normal(key, 'p1np')}), 1)")} AS p1np_ng_ml"""


def generate_marts(warehouse: Path, patients: int) -> int:
    """The three marts for `patients` patients; returns the number of assessments."""
    import duckdb

    from etl.rules import project_vars
    from etl.synth.truth import MODEL
    from etl.warehouse import upgrade

    upgrade(warehouse)
    m = MODEL
    days = ", ".join(f"{name}_days_before_scan" for name in ("mg", "vitd", "calcium", "albumin", "phosphate", "pth",
                                                              "crp", "beta_ctx", "p1np"))
    conn = duckdb.connect(str(warehouse))
    try:
        conn.execute("CREATE SCHEMA IF NOT EXISTS marts")
        scanned = int(patients * 0.8)
        # 80% of patients have scans: 1 or 2 (about 1.3 per scanned patient on average... here 1.625)
        conn.execute(f"""
            CREATE TEMP TABLE draws AS
            SELECT i, {_key("'K' || (i // 13 * 8 + i % 8)")} AS patient_key,
                   DATE '2015-01-01' + (i % 3650)::INTEGER AS scan_date,
                   least(92, greatest(30, round(66 + 9.5 * {_normal('i', 'age')})))::INTEGER AS age_at_scan,
                   CASE WHEN {_u('i', 'sex')} < 0.85 THEN 'F' ELSE 'M' END AS sex,
                   least(48, greatest(16, round(26 + 4 * {_normal('i', 'bmi')}, 2))) AS bmi,
                   round(1.62 + 0.07 * {_normal('i', 'height')}, 3) AS height_m,
                   {_labs('i', '0.2')},
                   {_u('i', 'outcome')} AS u_outcome
            FROM range({int(scanned * 1.625)}) AS t(i)""")
        truth = (f"{m.b0} + {m.mg_height} / (1 + exp((coalesce(mg_mmol_l, 0.85) - {m.mg_midpoint_mmol_l}) / "
                 f"{m.mg_width_mmol_l})) + {m.age_per_year} * (age_at_scan - {m.age_centre}) "
                 f"+ {m.phosphate_per_mmol_l} * (coalesce(phosphate_mmol_l, 1.1) - {m.phosphate_centre}) "
                 f"+ {m.p1np_per_ng_ml} * (coalesce(p1np_ng_ml, 50) - {m.p1np_centre}) "
                 f"+ {m.beta_ctx_per_ng_ml} * coalesce(beta_ctx_ng_ml, 0.45)")
        conn.execute(f"""
            CREATE TABLE marts.fct_bmd_assessment AS
            SELECT patient_key || '-' || strftime(scan_date, '%Y%m%d') AS assessment_id, patient_key, scan_date,
                   age_at_scan, sex, CASE WHEN sex = 'F' AND age_at_scan >= 52 THEN 'post' END AS menopausal_status,
                   round(bmi * height_m * height_m, 1) AS weight_kg, bmi,
                   u_outcome < 1 / (1 + exp(-({truth}))) AS is_densitometric_osteoporosis,
                   age_at_scan >= 50 OR (sex = 'F' AND age_at_scan >= 52) AS who_criteria_apply
            FROM draws""")
        conn.execute(f"""
            CREATE TABLE marts.fct_prescan_labs AS
            SELECT patient_key || '-' || strftime(scan_date, '%Y%m%d') AS assessment_id, patient_key, scan_date,
                   mg_mmol_l, vitd_nmol_l, calcium_mmol_l, 40.0 AS albumin_g_l, phosphate_mmol_l, pth_ng_l, crp_mg_l,
                   beta_ctx_ng_ml, p1np_ng_ml,
                   {", ".join(f"CASE WHEN mg_mmol_l IS NOT NULL THEN (i % 90)::INTEGER END AS {d}" for d in days.split(", "))},
                   mg_mmol_l <= 0.845 AS mg_below_op_cutoff
            FROM draws""")
        candidates = patients - scanned
        conn.execute(f"""
            CREATE TABLE marts.fct_latest_lab_panel AS
            SELECT {_key("'N' || i")} AS patient_key, DATE '2024-01-01' + (i % 365)::INTEGER AS index_date,
                   least(92, greatest(30, round(64 + 10 * {_normal('i', 'nage')})))::INTEGER AS age_at_index,
                   CASE WHEN {_u('i', 'nsex')} < 0.85 THEN 'F' ELSE 'M' END AS sex, 'post' AS menopausal_status,
                   CAST(NULL AS DATE) AS last_scan_on_or_before_index, true AS is_dxa_referral_candidate,
                   {_labs('i', '0.0')},
                   {", ".join(f"(i % 90)::INTEGER AS {d.replace('_scan', '_index')}" for d in days.split(", "))},
                   mg_mmol_l <= 0.845 AS mg_below_op_cutoff
            FROM range({candidates}) AS t(i)""")
        conn.execute("DROP TABLE draws")
        # What a build records (scoring's cards state the rules in effect): the project's defaults.
        conn.execute("""
            CREATE TABLE marts.rules_in_effect AS
            SELECT rule_name, value, NULL::VARCHAR AS unit, NULL::VARCHAR AS source, now()::TIMESTAMP AS built_at,
                   'bench_score' AS dbt_invocation_id, NULL::VARCHAR AS osteoreg_version, NULL::VARCHAR AS dbt_version,
                   NULL::BIGINT AS max_load_id
            FROM (SELECT unnest($names::VARCHAR[]) AS rule_name, unnest($values::VARCHAR[]) AS value)""",
                     {"names": list(project_vars()), "values": [json.dumps(v) for v in project_vars().values()]})
        return conn.execute("SELECT count(*) FROM marts.fct_bmd_assessment").fetchall()[0][0]
    finally:
        conn.close()


def _cpu_seconds() -> float:
    """User + system CPU of this process and its threads (DuckDB's included): on a shared machine
    wall time mostly measures the neighbours, so both are reported."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=1_500_000)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/osteoreg_bench_score"))
    parser.add_argument("--generate-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    path = args.workdir / "osteoreg.duckdb"
    if args.generate_only:
        print(generate_marts(path, args.patients))
        return

    shutil.rmtree(args.workdir, ignore_errors=True)
    args.workdir.mkdir(parents=True)
    started = time.perf_counter()
    generated = subprocess.run([sys.executable, __file__, "--patients", str(args.patients), "--workdir",
                                str(args.workdir), "--generate-only"], check=True, capture_output=True, text=True)
    assessments = int(generated.stdout.strip().splitlines()[-1])
    generate_seconds = time.perf_counter() - started

    from etl import warehouse as wh
    from etl.scoring.runner import score

    def timed(step):
        wall, cpu = time.perf_counter(), _cpu_seconds()
        result = step()
        return result, time.perf_counter() - wall, _cpu_seconds() - cpu

    first, first_seconds, first_cpu = timed(lambda: score(path))
    rerun, rerun_seconds, rerun_cpu = timed(lambda: score(path))
    with wh.session(path) as conn:
        conn.execute("DELETE FROM scoring.risk_scores").fetchall()
        conn.execute("CHECKPOINT").fetchall()
    applied, apply_seconds, apply_cpu = timed(lambda: score(path))
    peak_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    print(json.dumps({
        "patients": args.patients,
        "assessments": assessments,
        "triage_candidates": first.triage_candidates,
        "generate_seconds": round(generate_seconds, 1),
        "first_run_seconds": round(first_seconds, 1),
        "first_run_cpu_seconds": round(first_cpu, 1),
        "rerun_seconds": round(rerun_seconds, 1),
        "rerun_cpu_seconds": round(rerun_cpu, 1),
        "rerun_new_scores": rerun.new_scores,
        "apply_seconds": round(apply_seconds, 1),
        "apply_cpu_seconds": round(apply_cpu, 1),
        "load_average_1min": round(os.getloadavg()[0], 1),
        "rows_written": applied.new_scores,
        "peak_rss_mib": round(peak_rss_mib),
        "first_run": {m.model_name: {"version": m.model_version, "status": m.status, "message": m.message}
                      for m in first.models},
        "targets": {"seconds": TARGET_SECONDS, "peak_rss_mib": TARGET_RSS_MIB},
        "passed": first_seconds <= TARGET_SECONDS and peak_rss_mib <= TARGET_RSS_MIB
                  and applied.new_scores == 3 * assessments,
    }, indent=1))


if __name__ == "__main__":
    main()
