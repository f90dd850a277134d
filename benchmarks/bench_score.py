"""Benchmark of `osteoreg score` on 1M assessments (issue 5 target: scoring 1M assessments < 30 s).

The two marts scoring reads are generated directly in DuckDB (deterministic hashes, no files, no
dbt), with an outcome drawn from a known logistic model so the fitted models have something to
find. Two figures:

- `fit_and_score_seconds`: the first `score` run: OST evaluation, the published model's intercept,
  the lasso (fitted on a deterministic sample of `--fit-rows` assessments, the documented
  `max_fit_rows` setting), then all three applied to every assessment.
- `score_seconds`: the target figure: scores removed, `score` run again: the stored versions
  applied to all assessments (3 x N rows written with their contributions JSON).

    .venv/bin/python benchmarks/bench_score.py [--assessments 1000000] [--workdir /tmp/osteoreg_bench_score]

Prints one JSON object.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _u(expr: str, salt: str) -> str:
    """A deterministic uniform (0, 1) from a hash of an expression and a salt."""
    return f"(((hash({expr}, '{salt}') % 999983) + 0.5) / 999983.0)"


def _normal(expr: str, salt: str) -> str:
    """A deterministic standard normal draw (Box-Muller on two hashed uniforms)."""
    return f"(sqrt(-2 * ln({_u(expr, salt + 'a')})) * cos(2 * pi() * {_u(expr, salt + 'b')}))"


def generate_marts(warehouse: Path, n: int) -> None:
    """marts.fct_bmd_assessment and marts.fct_deficiency_flags with n rows (about 1.3 per patient).

    Value distributions describe a synthetic cohort, not clinical rules; the outcome model uses
    the generator's known truth (etl.synth.truth) on magnesium, age, BMI and beta-CTx."""
    import duckdb

    from etl.synth.truth import MODEL
    from etl.warehouse import upgrade

    upgrade(warehouse)
    b = MODEL.coefficients
    conn = duckdb.connect(str(warehouse))
    try:
        conn.execute("CREATE SCHEMA IF NOT EXISTS marts")
        conn.execute(f"""
            CREATE TEMP TABLE draws AS
            SELECT i,
                   'K' || (i // 13 * 10 + i % 10) AS patient_key,
                   least(92, greatest(30, round(66 + 9.5 * {_normal('i', 'age')})))::INTEGER AS age_at_scan,
                   least(48, greatest(16, round(26 + 4 * {_normal('i', 'bmi')}, 2))) AS bmi,
                   round(1.62 + 0.07 * {_normal('i', 'height')}, 3) AS height_m,
                   round(least(1.6, greatest(0.35, 0.85 + 0.085 * {_normal('i', 'mg')})), 2) AS mg_mmol_l,
                   round(least(2.5, greatest(0.03, 0.45 + 0.2 * abs({_normal('i', 'bctx')}))), 3) AS beta_ctx_ng_ml,
                   {_u('i', 'outcome')} AS u_outcome,
                   {_u('i', 'missing')} AS u_missing
            FROM range({n}) AS t(i)""")
        conn.execute(f"""
            CREATE TABLE marts.fct_bmd_assessment AS
            SELECT 'A' || i AS assessment_id, patient_key,
                   DATE '2015-01-01' + (i % 3650)::INTEGER AS scan_date, age_at_scan,
                   round(bmi * height_m * height_m, 1) AS weight_kg, bmi,
                   CASE WHEN u_outcome < 1 / (1 + exp(-({MODEL.b0}
                            + {b['mg_at_or_below_cutoff']} * (mg_mmol_l <= {MODEL.mg_cutoff_mmol_l})::INTEGER
                            + {b['age_per_year']} * (age_at_scan - {MODEL.age_centre})
                            + {b['bmi_per_kg_m2']} * (bmi - {MODEL.bmi_centre})
                            + {b['beta_ctx_per_ng_ml']} * beta_ctx_ng_ml)))
                        THEN (CASE WHEN i % 7 = 0 THEN 'severe_osteoporosis' ELSE 'osteoporosis' END)
                        ELSE (CASE WHEN i % 2 = 0 THEN 'osteopenia' ELSE 'normal' END) END AS who_category
            FROM draws""")
        conn.execute(f"""
            CREATE TABLE marts.fct_deficiency_flags AS
            SELECT 'A' || i AS assessment_id, patient_key, mg_mmol_l,
                   CASE WHEN u_missing < 0.08 THEN NULL ELSE round(1.1 + 0.18 * {_normal('i', 'p')}, 2) END AS phosphate_mmol_l,
                   round(2.35 + 0.11 * {_normal('i', 'ca')}, 2) AS calcium_mmol_l,
                   CASE WHEN u_missing > 0.95 THEN NULL ELSE round(60 + 25 * abs({_normal('i', 'd')}), 1) END AS vitd_nmol_l,
                   round(46 * exp(0.38 * {_normal('i', 'pth')}), 0) AS pth_ng_l,
                   CASE WHEN u_missing BETWEEN 0.5 AND 0.6 THEN NULL ELSE round(2 * exp({_normal('i', 'crp')}), 1) END AS crp_mg_l,
                   beta_ctx_ng_ml,
                   round(50 + 15 * abs({_normal('i', 'p1np')}), 1) AS p1np_ng_ml
            FROM draws""")
        conn.execute("DROP TABLE draws")
    finally:
        conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assessments", type=int, default=1_000_000)
    parser.add_argument("--fit-rows", type=int, default=20_000)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/osteoreg_bench_score"))
    args = parser.parse_args()

    from etl import warehouse as wh
    from etl.scoring.runner import score

    shutil.rmtree(args.workdir, ignore_errors=True)
    args.workdir.mkdir(parents=True)
    path = args.workdir / "osteoreg.duckdb"

    started = time.perf_counter()
    generate_marts(path, args.assessments)
    generate_seconds = time.perf_counter() - started

    settings = {"max_fit_rows": args.fit_rows}
    started = time.perf_counter()
    first = score(path, settings=settings)
    fit_and_score = time.perf_counter() - started

    with wh.session(path) as conn:
        conn.execute("DELETE FROM scoring.risk_scores").fetchall()
        conn.execute("CHECKPOINT").fetchall()
    started = time.perf_counter()
    second = score(path, settings=settings)
    score_seconds = time.perf_counter() - started

    print(json.dumps({
        "assessments": args.assessments,
        "fit_rows": args.fit_rows,
        "generate_seconds": round(generate_seconds, 1),
        "fit_and_score_seconds": round(fit_and_score, 1),
        "score_seconds": round(score_seconds, 1),
        "rows_written": second.new_scores,
        "first_run": {m.model_name: {"version": m.model_version, "new_scores": m.new_scores,
                                     "message": m.message} for m in first.models},
        "target_score_seconds": 30,
        "passed": score_seconds < 30 and second.new_scores == 3 * args.assessments,
    }, indent=1))


if __name__ == "__main__":
    main()
