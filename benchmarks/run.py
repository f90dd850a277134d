"""`make bench`: every benchmark in one go, each against its plain-DuckDB bound in the same run.

Runs ingest (which leaves a 1M-patient warehouse), build on its own generated raw layer, check
on the build benchmark's warehouse, scoring, the HL7/FHIR formats, disclosure control and the whole
pipeline with an incremental feed (bench_pipeline.py), one after another (they
share 2 cores, so never in parallel). Each prints its own figures; pass --patients to scale down.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BUILD_WORKDIR = Path("/tmp/osteoreg_bench_build")


def step(title: str, args: list[str]) -> None:
    print(f"\n=== {title}: {' '.join(args)}", flush=True)
    subprocess.run([sys.executable, *args], check=True, cwd=HERE.parent)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=1_000_000)
    args = parser.parse_args()
    n = str(args.patients)
    step("ingest", [str(HERE / "bench_ingest.py"), "--patients", n])
    step("build", [str(HERE / "bench_build.py"), "--patients", n, "--workdir", str(BUILD_WORKDIR), "--keep"])
    step("check", [str(HERE / "bench_check.py"), str(BUILD_WORKDIR / "osteoreg.duckdb")])
    step("score", [str(HERE / "bench_score.py"), "--patients", str(int(args.patients * 1.5))])
    step("formats", [str(HERE / "bench_formats.py"), "--results", n])
    step("disclosure", [str(HERE / "bench_disclosure.py"), "--patients", n])
    # issue 17: the whole pipeline at the 1.5M-patient shape, then a daily feed incrementally
    step("pipeline", [str(HERE / "bench_pipeline.py"), "--patients", str(int(args.patients * 1.5))])


if __name__ == "__main__":
    main()
