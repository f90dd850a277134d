"""A fixed-seed fuzz run in the normal suite: a few hundred broken inputs of every format.

The long run is `make fuzz N=10000` (tests/fuzz/run.py), with the same generator and checks.
"""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from .harness import FORMATS, generate, run

SEED = 20261202
N = int(os.environ.get("OSTEOREG_FUZZ_N", "250"))

# Formats whose readers this suite holds to "no unexpected exception at all". The HL7 v2 and FHIR
# readers' unforeseen errors are still each one failed load (the error funnel), counted and shown.
STRICT_FORMATS = {"csv", "tsv", "parquet", "profile"}


@pytest.fixture(scope="module")
def findings(tmp_path_factory, monkeypatch_module):
    return run(generate(SEED, N), tmp_path_factory.mktemp("fuzz"))


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OSTEOREG_SECRET", "fuzz-secret-of-at-least-32-characters")
        yield patch


def test_every_format_was_fuzzed(findings):
    assert set(findings.by_format) == set(FORMATS), findings.summary()
    assert findings.cases == N, findings.summary()


def test_no_invariant_is_violated(findings):
    assert findings.violations == [], findings.summary()
    assert findings.hangs == 0


def test_flat_readers_meet_no_unexpected_error(findings):
    strict = {fmt: n for fmt, n in findings.reader_defects.items() if fmt in STRICT_FORMATS}
    assert strict == {}, findings.summary()


def test_the_command_line_exits_0_1_or_2_without_a_traceback(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for case in generate(SEED + 1, 12):
        if case.format != "profile":
            (folder / case.name).write_bytes(case.data)
    env = {**os.environ, "OSTEOREG_SECRET": "fuzz-secret-of-at-least-32-characters"}
    done = subprocess.run([sys.executable, "-m", "etl.cli", "ingest", "-w", str(tmp_path / "w.duckdb"), str(folder)],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode in (0, 1, 2)
    assert "Traceback" not in done.stdout + done.stderr


def test_a_cr_ending_stays_at_the_end_of_its_line_whatever_else_the_line_got():
    """`make fuzz` case 8077 (seed 20261202): a CR ending, then a mark appended behind it, left a
    bare CR inside the line; the reader (like Python's csv module) read two records where the
    mutator had counted one. Every line the mutator writes must stay one record."""
    import random

    from . import corpus
    from .mutators import line_mutation

    sample = corpus.csv_text(sorted(corpus.FLAT)[0], ",").encode()
    for seed in range(400):
        data, records, done = line_mutation(random.Random(seed), sample, b",")
        lines = data.split(b"\n")[1:-1]
        assert len(lines) == records, done
        assert all(b"\r" not in line[:-1] for line in lines), done

