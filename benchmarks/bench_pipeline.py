"""Pipeline benchmark (osteoreg issue 17): `ingest + build + check + score` at the registry's shape,
then one daily feed through the incremental path, in the same run.

The shape: N patients (default 1.5M), about 7 lab rows and 4 DXA rows per patient, the labs in two
overlapping exports (the second re-sends two of the first's seven tests per patient unchanged, and
corrects 1% of the patients' first three results with status C), 5% of patients with a fracture.
The files are written by plain DuckDB `COPY` from hash-drawn values (from outside the project's
own generator, so the marts see data the project did not shape). The feed: 1% new rows (a new scan
with its labs for 1% of the patients) and 0.1% corrections of old results.

Every step runs as its own `osteoreg` process, so wall time and peak RSS are measured the same
way; the ingest anchors (plain `read_csv(all_varchar)` CTAS, and the typed anchor) run on the same
files in the same run (benchmarks/bench_ingest.py). The slowest dbt models of the full build are
read from dbt's run_results.json: where the build's time goes.

    python benchmarks/bench_pipeline.py --patients 1500000
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_ingest import _ANCHOR, _TYPED_ANCHOR, rss_of_single_process  # noqa: E402

ROOT = HERE.parent
DATA = ROOT / "bench_data"
STEPS = ("ingest", "build", "check", "score")

# (code, unit, low, high): magnesium, calcium, 25-OH D, PTH, CRP, albumin, phosphate (contract 7)
_TESTS = [("2601-3", "mmol/L", 0.55, 1.05), ("17861-6", "mg/dL", 8.0, 10.6), ("62292-8", "ng/mL", 8.0, 45.0),
          ("2731-8", "pg/mL", 20.0, 110.0), ("1988-5", "mg/L", 0.5, 14.0), ("1751-7", "g/L", 30.0, 48.0),
          ("2777-1", "mg/dL", 2.0, 5.0)]
_DXA = [("lumbar_spine_l1_l4", ""), ("femoral_neck", "left"), ("total_hip", "left"), ("femoral_neck", "right")]


def _u(expr: str, salt: str) -> str:
    """A uniform [0, 1) draw from a hash of `expr` and `salt` (reproducible, set-based)."""
    return f"((hash({expr}, '{salt}') % 1000003) / 1000003.0)"


def _labs_sql(n: int, where: str, accession: str, status: str, scale: str, day_shift: str) -> str:
    tests = " UNION ALL ".join(f"SELECT {j} AS j, '{c}' AS code, '{u}' AS unit, {lo} AS lo, {hi} AS hi"
                               for j, (c, u, lo, hi) in enumerate(_TESTS))
    return f"""
        SELECT 'B' || lpad(i::VARCHAR, 8, '0') AS patient_id,
               strftime((DATE '2016-01-01' + CAST(floor({_u('i', 'scan')} * 3000) AS INTEGER) + {day_shift}
                         + CAST(floor({_u('i * 7 + j', 'day')} * 181) AS INTEGER) - 90)::TIMESTAMP
                        + INTERVAL 8 HOUR, '%Y-%m-%dT%H:%M:%S') AS collected_at,
               code, printf('%.2f', (lo + {_u('i * 7 + j', 'value')} * (hi - lo)) * {scale}) AS value, unit,
               '{status}' AS status, {accession} AS accession_id
        FROM range({n}) AS r(i), ({tests}) AS t
        WHERE {where}"""


def generate(folder: Path, n: int) -> dict:
    """The base exports and the feed, as CSV files (plain DuckDB COPY)."""
    import duckdb

    shutil.rmtree(folder, ignore_errors=True)
    (folder / "base").mkdir(parents=True)
    (folder / "feed").mkdir()
    conn = duckdb.connect()
    conn.execute("SET preserve_insertion_order = false")
    copy = "(HEADER, DELIMITER ',')"
    conn.execute(f"""COPY (
        SELECT 'B' || lpad(i::VARCHAR, 8, '0') AS patient_id,
               CASE WHEN {_u('i', 'sex')} < 0.2 THEN 'M' ELSE 'F' END AS sex,
               DATE '1935-01-01' + CAST(floor({_u('i', 'birth')} * 18000) AS INTEGER) AS birth_date,
               CASE WHEN {_u('i', 'sex')} < 0.2 THEN NULL WHEN {_u('i', 'meno')} < 0.7 THEN 'post'
                    WHEN {_u('i', 'meno')} < 0.85 THEN 'pre' END AS menopausal_status
        FROM range({n}) AS r(i)) TO '{folder / "base" / "patients.csv"}' {copy}""")
    base_accession = "'A' || i || '-' || j"
    # export A: tests 0-4; export B: tests 3-6 (3 and 4 re-sent unchanged) and 1% corrections
    conn.execute(f"COPY ({_labs_sql(n, 'j <= 4', base_accession, 'F', '1', '0')}) "
                 f"TO '{folder / 'base' / 'labs_a.csv'}' {copy}")
    conn.execute(f"""COPY ({_labs_sql(n, 'j >= 3', base_accession, 'F', '1', '0')}
                     UNION ALL {_labs_sql(n, f"j <= 2 AND {_u('i', 'corr')} < 0.01", base_accession, 'C', '1.05', '0')})
                     TO '{folder / 'base' / 'labs_b.csv'}' {copy}""")
    sites = " UNION ALL ".join(f"SELECT {k} AS k, '{s}' AS site, '{d}' AS side" for k, (s, d) in enumerate(_DXA))
    dxa = f"""
        SELECT 'B' || lpad(i::VARCHAR, 8, '0') AS patient_id,
               DATE '2016-01-01' + CAST(floor({_u('i', 'scan')} * 3000) AS INTEGER) + {{shift}} AS scan_date,
               site, side, round(-4.0 + {_u('i * 4 + k', 't{{salt}}')} * 5.5, 1) AS t_score,
               round(-3.0 + {_u('i * 4 + k', 'z{{salt}}')} * 5.0, 1) AS z_score,
               round(0.5 + {_u('i * 4 + k', 'b{{salt}}')} * 0.7, 3) AS bmd_g_cm2
        FROM range({n}) AS r(i), ({sites}) AS s
        WHERE {{where}}"""
    conn.execute(f"COPY ({dxa.format(shift='0', salt='', where='true')}) TO '{folder / 'base' / 'dxa.csv'}' {copy}")
    conn.execute(f"""COPY (
        SELECT 'B' || lpad(i::VARCHAR, 8, '0') AS patient_id,
               DATE '2014-01-01' + CAST(floor({_u('i', 'fx')} * 4000) AS INTEGER) AS fracture_date,
               'hip' AS site, {_u('i', 'fragile')} < 0.7 AS fragility
        FROM range({n}) AS r(i) WHERE {_u('i', 'has_fx')} < 0.05) TO '{folder / 'base' / 'fractures.csv'}' {copy}""")
    # the feed: a new scan 400 days later with its seven tests for 1% of patients; 0.1% corrections
    new = f"{_u('i', 'feed')} < 0.01"
    conn.execute(f"""COPY ({_labs_sql(n, new, "'F' || i || '-' || j", 'F', '1', '400')}
                     UNION ALL {_labs_sql(n, f"j <= 4 AND {_u('i * 7 + j', 'feedcorr')} < 0.001", base_accession,
                                          'C', '0.9', '0')})
                     TO '{folder / 'feed' / 'labs.csv'}' {copy}""")
    conn.execute(f"COPY ({dxa.format(shift='400', salt='f', where=new)}) TO '{folder / 'feed' / 'dxa.csv'}' {copy}")
    sizes = {p.name: p.stat().st_size for p in (folder / "base").glob("*.csv")}
    conn.close()
    return {"base_csv_mib": round(sum(sizes.values()) / 2**20, 1)}


def _slowest_models(warehouse: Path, top: int = 8) -> list[tuple[str, float]]:
    results = warehouse.with_name(warehouse.name + ".dbt") / "target" / "run_results.json"
    if not results.exists():
        return []
    runs = json.loads(results.read_text())["results"]
    timed = [(r["unique_id"].split(".")[-1], float(r["execution_time"])) for r in runs
             if r["unique_id"].startswith("model.")]
    return sorted(timed, key=lambda item: -item[1])[:top]


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=1_500_000)
    parser.add_argument("--out", type=Path, default=DATA / "results_pipeline.json")
    args = parser.parse_args()
    folder = DATA / f"pipeline_{args.patients}"
    work = DATA / "run_pipeline"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    shape = generate(folder, args.patients)
    env = {"OSTEOREG_SECRET": "benchmark-secret-of-sufficient-length"}
    warehouse = work / "osteoreg.duckdb"
    osteoreg = [sys.executable, "-m", "etl.cli", "--warehouse", str(warehouse)]

    anchor_s, _ = rss_of_single_process([sys.executable, "-c", _ANCHOR, str(work / "anchor.duckdb"),
                                         str(folder / "base")], env)
    typed_s, _ = rss_of_single_process([sys.executable, "-c", _TYPED_ANCHOR, str(work / "typed.duckdb"),
                                        str(folder / "base")], env)
    for name in ("anchor.duckdb", "typed.duckdb"):
        (work / name).unlink(missing_ok=True)

    def pipeline(inputs: Path) -> dict:
        figures = {}
        for step in STEPS:
            command = osteoreg + ([step, str(inputs)] if step == "ingest" else [step])
            seconds, rss = rss_of_single_process(command, env)
            figures[step] = (round(seconds, 1), round(rss))
            print(f"  {step:<8} {seconds:8.1f} s  peak RSS {rss:8.0f} MiB", flush=True)
        return figures

    print(f"full pipeline, {args.patients:,} patients ({shape['base_csv_mib']} MiB of CSV):", flush=True)
    full = pipeline(folder / "base")
    slowest = _slowest_models(warehouse)
    print("feed (1% new rows, 0.1% corrections), incremental:", flush=True)
    feed = pipeline(folder / "feed")

    import duckdb

    with duckdb.connect(str(warehouse), read_only=True) as conn:
        builds = conn.execute("SELECT mode, reason, patients_in_scope FROM audit.builds ORDER BY build_id").fetchall()
        lab_rows = conn.execute("SELECT count(*) FROM raw.lab_results").fetchone()[0]
        dxa_rows = conn.execute("SELECT count(*) FROM raw.dxa_results").fetchone()[0]
    full_s = sum(seconds for seconds, _ in full.values())
    feed_s = sum(seconds for seconds, _ in feed.values())
    result = {
        "patients": args.patients, **shape, "lab_rows": lab_rows, "dxa_rows": dxa_rows,
        "anchor_seconds": round(anchor_s, 1), "typed_anchor_seconds": round(typed_s, 1),
        "ingest_vs_anchor": round(full["ingest"][0] / anchor_s, 2),
        "ingest_vs_typed_anchor": round(full["ingest"][0] / typed_s, 2),
        "full": full, "full_seconds": round(full_s, 1), "full_peak_rss_mib": max(rss for _, rss in full.values()),
        "feed": feed, "feed_seconds": round(feed_s, 1), "incremental_ratio": round(feed_s / full_s, 3),
        "builds": builds, "slowest_models_full_build": slowest, "load_average": os.getloadavg(),
    }
    print(f"\nanchor read_csv(all_varchar) CTAS {anchor_s:.1f} s, typed anchor {typed_s:.1f} s; ingest "
          f"{result['ingest_vs_anchor']:.2f}x the anchor, {result['ingest_vs_typed_anchor']:.2f}x the typed anchor")
    print(f"| step | full (s) | full RSS (MiB) | feed (s) | feed RSS (MiB) |\n|---|---:|---:|---:|---:|")
    for step in STEPS:
        print(f"| {step} | {full[step][0]} | {full[step][1]} | {feed[step][0]} | {feed[step][1]} |")
    print(f"| total | {full_s:.1f} | {result['full_peak_rss_mib']} | {feed_s:.1f} | "
          f"{max(rss for _, rss in feed.values())} |")
    print(f"incremental / full = {result['incremental_ratio']:.3f}; builds: {builds}")
    print("slowest models of the full build: " + ", ".join(f"{name} {s:.1f} s" for name, s in slowest))
    print(f"load average {os.getloadavg()}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, default=str))
    return result


if __name__ == "__main__":
    main()
