"""Benchmark of `osteoreg ingest` on the same lab results as CSV, HL7 v2 and Bulk-FHIR NDJSON.

The synthetic cohort's lab rows (messy: corrections, preliminaries, duplicates, bad rows) are
written three ways, split into the same number of files: CSV (`labs`), HL7 v2.5.1 ORU^R01 (PID
per message, so HL7 also yields patient rows), and FHIR Observation NDJSON. Each set is ingested
into its own fresh warehouse in a child process (schema created beforehand, not timed), so the
times compare readers plus the common loader on identical facts.

    .venv/bin/python benchmarks/bench_formats.py [--results 1000000] [--files 4] [--workdir DIR]

Targets (issue 6): FHIR NDJSON ingest <= 3x the CSV ingest; HL7 <= 5x. Prints one JSON object.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGETS = {"fhir_ndjson": 3.0, "hl7v2": 5.0}

_CHILD = """
import json, sys, time
from pathlib import Path
from etl.warehouse import upgrade
from etl.ingest.loader import ingest_paths
warehouse, folder = Path(sys.argv[1]), Path(sys.argv[2])
upgrade(warehouse)
started = time.perf_counter()
report = ingest_paths(warehouse, [folder])
seconds = time.perf_counter() - started
import resource
print(json.dumps({
    "seconds": round(seconds, 2),
    "files": len(report.files), "failed": [f.message for f in report.failed],
    "rows_read": report.total("rows_read"), "rows_loaded": report.total("rows_loaded"),
    "rows_quarantined": report.total("rows_quarantined"), "rows_duplicate": report.total("rows_duplicate"),
    "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
}))
"""


def write_inputs(workdir: Path, n_results: int, n_files: int) -> dict:
    """The first `n_results` lab rows of the cohort, as CSV, HL7 and NDJSON in `n_files` files each."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    from etl.synth import cohort, fhir, hl7v2

    started = time.perf_counter()
    patients, labs, count = [], [], 0
    for block in cohort.iter_blocks(max(1, n_results // 15), messy=True):
        patients.append(block.patients)
        labs.append(block.labs)
        count += block.labs.num_rows
        if count >= n_results:
            break
    if count < n_results:
        raise SystemExit(f"the cohort gave only {count} lab rows")
    labs_table = pa.concat_tables(labs).slice(0, n_results)
    patients_table = pa.concat_tables(patients)
    per_file = -(-n_results // n_files)
    generated = time.perf_counter() - started

    folders = {fmt: workdir / "inputs" / fmt for fmt in ("csv", "hl7v2", "fhir_ndjson")}
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)
    timings = {}
    start = time.perf_counter()
    canonical = labs_table.select(cohort.HEADERS["labs"])
    for i in range(n_files):
        pacsv.write_csv(canonical.slice(i * per_file, per_file), folders["csv"] / f"labs_{i + 1:04d}.csv")
    timings["csv"] = time.perf_counter() - start

    start = time.perf_counter()
    rows = type("Rows", (), {"patients": patients_table, "labs": labs_table})()
    hl7v2.write(rows, folders["hl7v2"], results_per_file=per_file)
    timings["hl7v2"] = time.perf_counter() - start

    start = time.perf_counter()
    for i in range(n_files):
        with (folders["fhir_ndjson"] / f"Observation_{i + 1:04d}.ndjson").open("w", encoding="utf-8") as handle:
            handle.writelines(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n"
                              for r in fhir.lab_resources(labs_table.slice(i * per_file, per_file)))
    timings["fhir_ndjson"] = time.perf_counter() - start
    sizes = {fmt: sum(p.stat().st_size for p in folder.iterdir()) for fmt, folder in folders.items()}
    return {"folders": folders, "generate_seconds": round(generated, 1),
            "write_seconds": {k: round(v, 1) for k, v in timings.items()},
            "bytes": sizes}


def ingest(workdir: Path, fmt: str, folder: Path) -> dict:
    warehouse = workdir / "warehouses" / fmt / "osteoreg.duckdb"
    if warehouse.parent.exists():
        shutil.rmtree(warehouse.parent)
    warehouse.parent.mkdir(parents=True)
    done = subprocess.run([sys.executable, "-c", _CHILD, str(warehouse), str(folder)], capture_output=True,
                          text=True, env={**os.environ, "OSTEOREG_SECRET": "bench-secret-of-at-least-32-characters"})
    if done.returncode != 0:
        raise SystemExit(f"ingest of {fmt} failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=int, default=1_000_000)
    parser.add_argument("--files", type=int, default=4)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/osteoreg_bench_formats"))
    parser.add_argument("--keep", action="store_true", help="keep the inputs and warehouses")
    args = parser.parse_args()
    if args.workdir.exists():
        shutil.rmtree(args.workdir)
    args.workdir.mkdir(parents=True)
    inputs = write_inputs(args.workdir, args.results, args.files)
    results = {fmt: ingest(args.workdir, fmt, folder) for fmt, folder in inputs["folders"].items()}
    csv_seconds = results["csv"]["seconds"]
    ratios = {fmt: round(results[fmt]["seconds"] / csv_seconds, 2) for fmt in TARGETS}
    print(json.dumps({
        "lab_results": args.results, "files_per_format": args.files,
        "generate_seconds": inputs["generate_seconds"], "write_seconds": inputs["write_seconds"],
        "input_bytes": inputs["bytes"], "ingest": results, "ratio_to_csv": ratios,
        "targets": TARGETS, "targets_met": {fmt: ratios[fmt] <= TARGETS[fmt] for fmt in TARGETS},
    }, indent=2))
    if not args.keep:
        shutil.rmtree(args.workdir)


if __name__ == "__main__":
    main()
