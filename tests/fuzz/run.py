"""`make fuzz N=10000`: the long fuzz run, with the figures printed at the end.

    python -m tests.fuzz.run --n 10000 [--seed S] [--start K] [--workdir DIR]

`--start K` runs cases K to K + n - 1 of the same seeded sequence, so a long run can be done in
pieces (`--start 0 --n 2000`, `--start 2000 --n 2000`, ...) that together are the cases of one
`--n` run. Exit status 1 when an invariant was violated or a file hung (the figures say which).
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

from .harness import generate, run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=20261202)
    parser.add_argument("--start", type=int, default=0, help="number of the first case to run")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--bound", type=float, default=60.0, help="seconds one file may take")
    args = parser.parse_args(argv)
    os.environ.setdefault("OSTEOREG_SECRET", "fuzz-secret-of-at-least-32-characters")
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="osteoreg-fuzz-"))
    try:
        findings = run(generate(args.seed, args.start + args.n)[args.start:], workdir, bound=args.bound)
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    print(findings.summary())
    return 1 if findings.violations or findings.hangs else 0


if __name__ == "__main__":
    sys.exit(main())
