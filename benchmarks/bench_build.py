"""Benchmark of `osteoreg build` on the 1M-patient / 20M-lab-row cohort, against a plain-SQL bound.

The raw layer is generated directly in DuckDB (deterministic hashes, no files), because this
benchmark measures the build, not ingestion. The lower bound is the same marts written by one
hand-written DuckDB query each (reusing earlier marts where dbt would too), with no dbt, no
tests and DuckDB-specific shortcuts allowed. Both run in child processes so peak RSS is theirs.

    .venv/bin/python benchmarks/bench_build.py [--patients 1000000] [--workdir /tmp/osteoreg_bench]

Target (issue 3): build < 60 s and <= 2x the plain-SQL bound. Prints one JSON object.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Analytes per collection: (LOINC, unit as sent, low, high) of a uniform draw in the sent unit.
# Ranges describe the synthetic cohort, not clinical rules (those live in dbt_project/).
LAB_PANEL = [
    ("19123-9", "mg/dL", 1.45, 2.55),    # magnesium
    ("2000-8", "mmol/L", 1.95, 2.70),    # calcium
    ("1751-7", "g/dL", 3.2, 5.0),        # albumin
    ("2777-1", "mg/dL", 2.2, 4.8),       # phosphate
    ("62292-8", "ng/mL", 6, 50),         # 25-OH vitamin D
    ("2731-8", "pg/mL", 15, 120),        # PTH
    ("1988-5", "mg/L", 0.2, 20),         # CRP
    ("41171-0", "ng/mL", 0.1, 1.0),      # beta-CTx
    ("77370-5", "ug/L", 15, 110),        # P1NP
    ("2160-0", "mg/dL", 0.5, 1.6),       # creatinine
]


def _u(expr: str, salt: str) -> str:
    """A deterministic uniform [0, 1) from a hash of an expression and a salt."""
    return f"((hash({expr}, '{salt}') % 1000000) / 1000000.0)"


def generate_raw_cohort(warehouse: Path, n_patients: int) -> dict:
    """Fill raw.* and identity.patient_map with a cohort: ~1.5 scans and ~20 lab rows per patient."""
    import duckdb

    from etl.warehouse import upgrade

    upgrade(warehouse)
    panel = ", ".join(f"('{code}', '{unit}', {low}, {high}, {i})" for i, (code, unit, low, high) in enumerate(LAB_PANEL))
    con = duckdb.connect(str(warehouse))
    try:
        con.execute(f"CREATE TEMP TABLE ids AS SELECT range AS i FROM range({n_patients})")
        con.execute("""
            INSERT INTO identity.patient_map
            SELECT 'P' || i, substr(md5('key' || i), 1, 16), 1, TIMESTAMP '2026-01-01' FROM ids""")
        con.execute(f"""
            INSERT INTO raw.patients
            SELECT 1, 'patients.csv', i + 1, 'csv', 'P' || i,
                   CASE WHEN {_u('i', 'sex')} < 0.8 THEN 'F' WHEN {_u('i', 'sex')} < 0.97 THEN 'male' ELSE 'X' END,
                   DATE '1930-01-01' + CAST({_u('i', 'birth')} * 18000 AS INTEGER),
                   CASE WHEN {_u('i', 'sex')} < 0.8 THEN CASE WHEN {_u('i', 'meno')} < 0.85 THEN 'post' ELSE 'pre' END END,
                   NULL, hash(i, 'p'), NULL
            FROM ids""")
        # Scans: every patient one, half a second one a year later.
        con.execute(f"""
            CREATE TEMP TABLE scans AS
            SELECT i, s, DATE '2018-01-01' + CAST({_u('i', 'scan')} * 2000 AS INTEGER) + CAST(s * 365 AS INTEGER) AS scan_date
            FROM ids, range(2) t(s)
            WHERE s = 0 OR {_u('i', 'second')} < 0.5""")
        con.execute(f"""
            INSERT INTO raw.dxa_results (load_id, source_file, source_row, source_format, patient_id,
                scan_date, site, side, t_score, z_score, bmd_g_cm2, height_cm, weight_kg, status, row_hash)
            SELECT 2, 'dxa.csv', row_number() OVER (), 'csv', 'P' || i, scan_date, site, side,
                   round(-4.2 + 5.4 * {_u('i, s, site, side', 't')}, 1),
                   round(-3.0 + 4.5 * {_u('i, s, site, side', 'z')}, 1),
                   round(0.5 + 0.6 * {_u('i, s, site, side', 'b')}, 3),
                   150 + 35 * {_u('i', 'h')}, 45 + 50 * {_u('i', 'w')}, 'F', hash(i, s, site, side)
            FROM scans, (VALUES ('lumbar_spine_l1_l4', NULL), ('femoral_neck', 'left'),
                                ('femoral_neck', 'right'), ('total_hip', 'left'), ('total_hip', 'right')) v(site, side)""")
        con.execute(f"""
            INSERT INTO raw.fractures (load_id, source_file, source_row, source_format, patient_id,
                fracture_date, site, fragility, status, row_hash)
            SELECT 3, 'fractures.csv', i + 1, 'csv', 'P' || i,
                   DATE '2015-01-01' + CAST({_u('i', 'fx')} * 3000 AS INTEGER), 'hip', true, 'F', hash(i, 'fx')
            FROM ids WHERE {_u('i', 'hasfx')} < 0.1""")
        # Labs: two collections per patient around the first scan (some outside +-90 days), the
        # panel each time; 2% re-sent corrected (C), 0.5% deleted (D), 1% preliminary first.
        con.execute(f"""
            CREATE TEMP TABLE collections AS
            SELECT s.i, c, CAST(s.scan_date AS TIMESTAMP)
                     + to_days(CAST(-150 + 300 * {_u('s.i, c', 'off')} AS INTEGER))
                     + to_minutes(CAST(420 + 300 * {_u('s.i, c', 'tm')} AS INTEGER)) AS collected_at
            FROM scans s, range(2) t(c) WHERE s.s = 0""")
        con.execute(f"""
            CREATE TEMP TABLE labs AS
            SELECT 'P' || col.i AS patient_id, col.collected_at, p.code, p.unit,
                   round(p.low + (p.high - p.low) * {_u('col.i, col.c, p.k', 'v')}, 3) AS value_num,
                   'ACC' || col.i || '-' || col.c AS accession_id,
                   {_u('col.i, col.c, p.k', 'status')} AS u_status,
                   row_number() OVER () AS n
            FROM collections col, (VALUES {panel}) p(code, unit, low, high, k)""")
        con.execute("""
            INSERT INTO raw.lab_results (load_id, source_file, source_row, source_format, patient_id,
                collected_at, code, code_system, loinc_code, value_text, value_num, unit, status,
                accession_id, is_tracked, row_hash)
            SELECT 4, 'labs.csv', n, 'csv', patient_id, collected_at, code, 'LOINC', code,
                   CAST(value_num AS VARCHAR), value_num, unit,
                   CASE WHEN u_status < 0.01 THEN 'P' ELSE 'F' END, accession_id, true, hash(n, 'lab')
            FROM labs""")
        con.execute("""
            INSERT INTO raw.lab_results (load_id, source_file, source_row, source_format, patient_id,
                collected_at, code, code_system, loinc_code, value_text, value_num, unit, status,
                accession_id, is_tracked, row_hash)
            SELECT 5, 'labs_corrections.csv', row_number() OVER (), 'csv', patient_id, collected_at, code,
                   'LOINC', code, CAST(value_num * 1.05 AS VARCHAR), value_num * 1.05, unit,
                   CASE WHEN u_status < 0.01 THEN 'F' WHEN u_status < 0.03 THEN 'C' ELSE 'D' END,
                   accession_id, true, hash(n, 'fix')
            FROM labs WHERE u_status < 0.035""")
        counts = {table: con.execute(f"SELECT count(*) FROM raw.{table}").fetchone()[0]
                  for table in ("patients", "lab_results", "dxa_results", "fractures")}
    finally:
        con.close()
    return counts


# The plain-SQL lower bound: the marts, one DuckDB query each, DuckDB shortcuts allowed. Seeds are
# read from the terminology schema that the dbt build created (they are tiny).
PLAIN_SQL = {
    "dim_patient": """
        SELECT m.patient_key,
               CASE WHEN lower(trim(p.sex)) IN ('f','female') THEN 'F'
                    WHEN lower(trim(p.sex)) IN ('m','male') THEN 'M' ELSE 'unknown' END AS sex,
               year(p.birth_date) AS birth_year, p.menopausal_status
        FROM identity.patient_map m
        LEFT JOIN (SELECT * FROM raw.patients QUALIFY row_number() OVER
                   (PARTITION BY patient_id ORDER BY load_id DESC, source_row DESC) = 1) p USING (patient_id)""",
    "fct_lab_result": """
        WITH cur AS (
            SELECT l.* FROM raw.lab_results l JOIN terminology.result_statuses s USING (status)
            WHERE s.effect <> 'wait' AND l.is_tracked
            QUALIFY row_number() OVER (PARTITION BY patient_id, result_id,
                CASE WHEN result_id IS NULL THEN accession_id END,
                CASE WHEN result_id IS NULL THEN coalesce(loinc_code, code) END,
                CASE WHEN result_id IS NULL AND accession_id IS NULL THEN collected_at END
                ORDER BY load_id DESC, source_row DESC) = 1 AND s.is_final)
        SELECT m.patient_key, cur.load_id, cur.source_row,
               collected_at, CAST(collected_at AS DATE) AS collected_date, c.analyte, cur.loinc_code,
               round(value_num * v.factor_to_si, 6) AS value_si, a.si_unit AS unit_si,
               value_num AS value_original, cur.unit AS unit_original, cur.value_comparator,
               round(value_num * v.factor_to_si, 6) BETWEEN pl.low AND pl.high AS is_plausible,
               cur.status, cur.result_id
        FROM cur JOIN identity.patient_map m USING (patient_id)
        JOIN terminology.analyte_codes c USING (loinc_code)
        JOIN terminology.analytes a ON a.analyte = c.analyte
        JOIN terminology.unit_aliases ua ON ua.unit_alias = lower(replace(trim(cur.unit), ' ', ''))
        JOIN terminology.unit_conversions v ON v.analyte = c.analyte AND v.unit = ua.unit
        LEFT JOIN terminology.plausibility_limits pl ON pl.measure = c.analyte""",
    "fct_bmd_assessment": """
        WITH d AS (
            SELECT x.* FROM raw.dxa_results x WHERE x.status IN ('F','C','A')
            QUALIFY row_number() OVER (PARTITION BY patient_id, scan_date, site, side
                                       ORDER BY load_id DESC, source_row DESC) = 1),
        piv AS (
            SELECT patient_id, scan_date,
                   min(t_score) FILTER (site = 'lumbar_spine_l1_l4' AND t_score BETWEEN -8 AND 8) AS t_ls,
                   min(t_score) FILTER (site = 'femoral_neck' AND t_score BETWEEN -8 AND 8) AS t_fn,
                   min(t_score) FILTER (site = 'total_hip' AND t_score BETWEEN -8 AND 8) AS t_th,
                   min(z_score) FILTER (site = 'lumbar_spine_l1_l4' AND z_score BETWEEN -8 AND 8) AS z_ls,
                   min(z_score) FILTER (site = 'femoral_neck' AND z_score BETWEEN -8 AND 8) AS z_fn,
                   min(z_score) FILTER (site = 'total_hip' AND z_score BETWEEN -8 AND 8) AS z_th,
                   min(bmd_g_cm2) FILTER (site = 'lumbar_spine_l1_l4' AND bmd_g_cm2 BETWEEN 0.1 AND 3) AS bmd_ls,
                   min(bmd_g_cm2) FILTER (site = 'femoral_neck' AND bmd_g_cm2 BETWEEN 0.1 AND 3) AS bmd_fn,
                   min(bmd_g_cm2) FILTER (site = 'total_hip' AND bmd_g_cm2 BETWEEN 0.1 AND 3) AS bmd_th,
                   max(height_cm) FILTER (height_cm BETWEEN 100 AND 230) AS height_cm,
                   max(weight_kg) FILTER (weight_kg BETWEEN 20 AND 300) AS weight_kg,
                   bool_or(NOT (t_score BETWEEN -8 AND 8) OR NOT (z_score BETWEEN -8 AND 8)) AS has_implausible_value
            FROM d GROUP BY ALL),
        fx AS (SELECT m.patient_key, min(fracture_date) AS first_fx FROM raw.fractures f
               JOIN identity.patient_map m USING (patient_id) WHERE fragility GROUP BY ALL),
        a AS (
            SELECT m.patient_key || '-' || strftime(scan_date, '%Y%m%d') AS assessment_id, m.patient_key, scan_date,
                   date_sub('year', p.birth_date, scan_date) AS age_at_scan, p.sex, p.menopausal_status,
                   t_ls, t_fn, t_th, least(t_ls, t_fn, t_th) AS min_t_score,
                   CASE least(t_ls, t_fn, t_th) WHEN t_ls THEN 'lumbar_spine_l1_l4' WHEN t_fn THEN 'femoral_neck'
                        ELSE 'total_hip' END AS min_t_score_site,
                   z_ls, z_fn, z_th, least(z_ls, z_fn, z_th) AS min_z_score, bmd_ls, bmd_fn, bmd_th,
                   height_cm, weight_kg, round(weight_kg / (height_cm / 100) ^ 2, 2) AS bmi,
                   coalesce(first_fx <= scan_date, false) AS has_fragility_fracture, has_implausible_value
            FROM piv JOIN identity.patient_map m USING (patient_id)
            LEFT JOIN dim_patient_src p USING (patient_key) LEFT JOIN fx USING (patient_key)),
        w AS (
            SELECT *, CASE WHEN min_t_score <= -2.5 AND has_fragility_fracture THEN 'severe_osteoporosis'
                           WHEN min_t_score <= -2.5 THEN 'osteoporosis'
                           WHEN min_t_score < -1 THEN 'osteopenia' WHEN min_t_score IS NOT NULL THEN 'normal' END AS who_category
            FROM a)
        SELECT *, CASE WHEN age_at_scan >= 50 OR (sex = 'F' AND menopausal_status = 'post') THEN who_category
                       WHEN min_z_score <= -2 THEN 'below_expected_range_for_age'
                       WHEN min_z_score IS NOT NULL THEN 'within_expected_range_for_age' END AS iscd_category
        FROM w""",
    "fct_deficiency_flags": """
        WITH s AS (SELECT assessment_id, patient_key, scan_date FROM plain.fct_bmd_assessment),
        matched AS (
            SELECT s.assessment_id, l.patient_key, l.analyte, l.value_si, l.collected_date,
                   date_diff('day', s.scan_date, l.collected_date) AS days
            FROM s JOIN plain.fct_lab_result l ON l.patient_key = s.patient_key
             AND l.collected_date BETWEEN s.scan_date - 90 AND s.scan_date + 90 AND l.is_plausible
            QUALIFY row_number() OVER (PARTITION BY s.assessment_id, l.analyte
                                       ORDER BY abs(days), l.collected_at DESC) = 1),
        corrected AS (
            SELECT c.assessment_id, round(c.value_si + 0.02 * (40 - arg_max(a.value_si, a.collected_at)), 6) AS ca_corr
            FROM matched c JOIN plain.fct_lab_result a ON a.patient_key = c.patient_key
             AND a.collected_date = c.collected_date AND a.analyte = 'albumin' AND a.is_plausible
            WHERE c.analyte = 'calcium' GROUP BY c.assessment_id, c.value_si),
        flat AS (
            SELECT s.assessment_id, s.patient_key,
               max(value_si) FILTER (analyte = 'magnesium') AS mg_mmol_l,
               max(days) FILTER (analyte = 'magnesium') AS mg_days_from_scan,
               max(value_si) FILTER (analyte = 'vitamin_d_25oh') AS vitd_nmol_l,
               max(days) FILTER (analyte = 'vitamin_d_25oh') AS vitd_days_from_scan,
               max(value_si) FILTER (analyte = 'calcium') AS calcium_mmol_l,
               max(days) FILTER (analyte = 'calcium') AS calcium_days_from_scan,
               max(value_si) FILTER (analyte = 'albumin') AS albumin_g_l,
               max(days) FILTER (analyte = 'albumin') AS albumin_days_from_scan,
               max(value_si) FILTER (analyte = 'phosphate') AS phosphate_mmol_l,
               max(days) FILTER (analyte = 'phosphate') AS phosphate_days_from_scan,
               max(value_si) FILTER (analyte = 'pth') AS pth_ng_l,
               max(days) FILTER (analyte = 'pth') AS pth_days_from_scan,
               max(value_si) FILTER (analyte = 'crp') AS crp_mg_l,
               max(days) FILTER (analyte = 'crp') AS crp_days_from_scan,
               max(value_si) FILTER (analyte = 'beta_ctx') AS beta_ctx_ng_ml,
               max(days) FILTER (analyte = 'beta_ctx') AS beta_ctx_days_from_scan,
               max(value_si) FILTER (analyte = 'p1np') AS p1np_ng_ml,
               max(days) FILTER (analyte = 'p1np') AS p1np_days_from_scan
            FROM s LEFT JOIN matched USING (assessment_id) GROUP BY ALL)
        SELECT flat.*, mg_mmol_l < 0.75 AS mg_deficient, mg_mmol_l <= 0.845 AS mg_below_op_cutoff,
               CASE WHEN vitd_nmol_l < 50 THEN 'deficient' WHEN vitd_nmol_l < 75 THEN 'insufficient'
                    WHEN vitd_nmol_l IS NOT NULL THEN 'sufficient' END AS vitd_status,
               corrected.ca_corr AS calcium_corrected_mmol_l,
               coalesce(corrected.ca_corr, calcium_mmol_l) < 2.12 AS hypocalcemia,
               phosphate_mmol_l < 0.81 AS hypophosphatemia, pth_ng_l > 65 AS pth_elevated, crp_mg_l > 5 AS crp_elevated
        FROM flat LEFT JOIN corrected USING (assessment_id)""",
    "mg_deficiency_prevalence": """
        WITH pop AS (
            SELECT year(b.scan_date) AS year, b.sex,
                   CASE WHEN age_at_scan < 50 THEN '<50' WHEN age_at_scan < 60 THEN '50-59'
                        WHEN age_at_scan < 70 THEN '60-69' WHEN age_at_scan < 80 THEN '70-79' ELSE '80+' END AS age_band,
                   b.who_category, f.mg_deficient
            FROM plain.fct_bmd_assessment b JOIN plain.fct_deficiency_flags f USING (assessment_id)
            WHERE f.mg_mmol_l IS NOT NULL
            QUALIFY row_number() OVER (PARTITION BY b.patient_key, year(b.scan_date) ORDER BY b.scan_date DESC) = 1)
        SELECT year, sex, age_band, who_category, count(*) AS n_assessed, count(*) FILTER (mg_deficient) AS n_deficient
        FROM pop GROUP BY ALL""",
    "mg_deficiency_prevalence_by_year": """
        WITH pop AS (
            SELECT year(b.scan_date) AS year, f.mg_deficient
            FROM plain.fct_bmd_assessment b JOIN plain.fct_deficiency_flags f USING (assessment_id)
            WHERE f.mg_mmol_l IS NOT NULL
            QUALIFY row_number() OVER (PARTITION BY b.patient_key, year(b.scan_date) ORDER BY b.scan_date DESC) = 1)
        SELECT year, count(*) AS n_assessed, count(*) FILTER (mg_deficient) AS n_deficient FROM pop GROUP BY ALL""",
}


def plain_sql_bound(warehouse: Path) -> dict:
    """Write the marts with the hand-written queries into schema `plain`; seconds per mart."""
    import duckdb

    con = duckdb.connect(str(warehouse))
    con.execute("SET enable_progress_bar = false")
    con.execute("SET preserve_insertion_order = false")  # as dbt_project/profiles.yml sets it
    seconds = {}
    try:
        con.execute("DROP SCHEMA IF EXISTS plain CASCADE")
        con.execute("CREATE SCHEMA plain")
        for mart, sql in PLAIN_SQL.items():
            started = time.perf_counter()
            if mart == "dim_patient":
                con.execute(f"CREATE TABLE plain.dim_patient AS {sql}")
                con.execute("""CREATE TEMP VIEW dim_patient_src AS
                    SELECT m.patient_key, p.birth_date, p.menopausal_status,
                           CASE WHEN lower(trim(p.sex)) IN ('f','female') THEN 'F'
                                WHEN lower(trim(p.sex)) IN ('m','male') THEN 'M' ELSE 'unknown' END AS sex
                    FROM identity.patient_map m LEFT JOIN (SELECT * FROM raw.patients QUALIFY row_number() OVER
                      (PARTITION BY patient_id ORDER BY load_id DESC, source_row DESC) = 1) p USING (patient_id)""")
            else:
                con.execute(f"CREATE TABLE plain.{mart} AS {sql}")
            seconds[mart] = round(time.perf_counter() - started, 2)
    finally:
        con.close()
    return seconds


def _child(code: str) -> tuple[float, float, dict]:
    """Run Python code in a child that prints one JSON object; wall seconds, the child's own peak
    RSS in MiB (reported by itself, so earlier children do not count) and the object."""
    code += ("\nimport resource as _r, json as _j"
             "\nprint(_j.dumps({'peak_rss_kib': _r.getrusage(_r.RUSAGE_SELF).ru_maxrss}))")
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        raise SystemExit(f"child failed: {lines[-1] if lines else done.returncode}")
    *body, rss_line = done.stdout.strip().splitlines()
    return seconds, json.loads(rss_line)["peak_rss_kib"] / 1024, json.loads(body[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=1_000_000)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/osteoreg_bench_build"))
    parser.add_argument("--keep", action="store_true", help="keep the benchmark warehouse afterwards")
    args = parser.parse_args()

    shutil.rmtree(args.workdir, ignore_errors=True)
    args.workdir.mkdir(parents=True)
    warehouse = args.workdir / "osteoreg.duckdb"

    started = time.perf_counter()
    rows = generate_raw_cohort(warehouse, args.patients)
    generate_seconds = time.perf_counter() - started

    build_seconds, build_rss, build_info = _child(
        "import json; from pathlib import Path; from etl.build import build; "
        f"r = build(Path({str(warehouse)!r})); "
        "print(json.dumps({'models': r.models, 'tests': r.tests, 'unit_tests': r.unit_tests, 'seeds': r.seeds, "
        "'dbt_seconds': round(r.seconds, 2), 'slowest': sorted(((round(n.seconds, 2), n.name) for n in r.nodes), reverse=True)[:8]}))")
    plain_seconds, plain_rss, plain_marts = _child(
        "import json, sys; from pathlib import Path; sys.path.insert(0, 'benchmarks'); "
        f"from bench_build import plain_sql_bound; print(json.dumps(plain_sql_bound(Path({str(warehouse)!r}))))")

    report = {
        "patients": args.patients,
        "raw_rows": rows,
        "generate_seconds": round(generate_seconds, 1),
        "build_wall_seconds": round(build_seconds, 1),
        "build_peak_rss_mib": round(build_rss),
        "build": build_info,
        "plain_sql_seconds": round(sum(plain_marts.values()), 1),
        "plain_sql_wall_seconds": round(plain_seconds, 1),
        "plain_sql_peak_rss_mib": round(plain_rss),
        "plain_sql_per_mart": plain_marts,
        "ratio_build_to_plain_sql": round(build_seconds / sum(plain_marts.values()), 2),
        "targets": {"build_under_60_s": build_seconds < 60,
                    "at_most_2x_plain_sql": build_seconds <= 2 * sum(plain_marts.values())},
    }
    print(json.dumps(report, indent=2))
    if not args.keep:
        shutil.rmtree(args.workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
