"""The fuzzer: seeded broken inputs of every format through the ingest API, and the invariants.

`generate(seed, n)` makes `n` cases; `run(cases, workdir)` loads them in batches (one
`ingest_paths` call per batch, in this process, as `osteoreg ingest FOLDER` would) and checks:

- nothing escapes `ingest_paths` but an `OsteoregError` (the CLI's exit 1 or 2), no message holds
  a traceback or a second line, every failed file's message starts with its path;
- every load: rows read = loaded + quarantined + duplicate, and `audit.loads`, `raw.*` and
  `audit.quarantine` agree with what the outcome says;
- a failed file left nothing in `raw.*` or `audit.quarantine`;
- line-oriented mutations of flat exports (and intact Parquet): every record sent is read;
- no file takes longer than `bound` seconds (an interval timer stops the batch if one does).

Errors a reader did not foresee arrive as failed loads saying "unexpected <Exception>" (the
loader's error funnel); they are counted per format as `reader_defects`, since they mean a reader
should have given a better sentence or quarantined a record.
"""
from __future__ import annotations

import json
import random
import signal
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from etl.errors import InputError, OsteoregError
from etl.ingest.loader import FileOutcome, ingest_paths
from etl.ingest.profiles import load_profile

from . import corpus
from .mutators import (BYTE_MUTATORS, header_mutation, line_mutation, mutate_hl7, mutate_json,
                       mutate_yaml_text)

FORMATS = {"csv": 25, "tsv": 10, "parquet": 10, "hl7": 15, "fhir_json": 15, "fhir_ndjson": 15, "profile": 10}
SUFFIX = {"csv": ".csv", "tsv": ".tsv", "parquet": ".parquet", "hl7": ".hl7", "fhir_json": ".json",
          "fhir_ndjson": ".ndjson", "profile": ".csv"}


@dataclass
class Case:
    number: int
    format: str
    mutation: str
    data: bytes
    records: int | None = None          # data records sent, where the mutation keeps them countable
    profile: str | None = None          # profile YAML text for `profile` cases

    @property
    def name(self) -> str:
        return f"{self.number:06d}{SUFFIX[self.format]}"


@dataclass
class Findings:
    cases: int = 0
    seconds: float = 0.0
    by_format: Counter = field(default_factory=Counter)
    statuses: Counter = field(default_factory=Counter)
    violations: list[str] = field(default_factory=list)
    reader_defects: Counter = field(default_factory=Counter)
    defect_examples: dict = field(default_factory=dict)
    hangs: int = 0
    slowest: float = 0.0

    def summary(self) -> str:
        lines = [f"{self.cases:,} inputs in {self.seconds:.0f} s (slowest file {self.slowest:.1f} s): "
                 f"{dict(self.statuses)}; by format {dict(self.by_format)}",
                 f"violations {len(self.violations)}, hangs {self.hangs}, tracebacks 0 unless listed, "
                 f"reader defects (unexpected exceptions turned into failed loads) {dict(self.reader_defects)}"]
        lines += [f"  violation: {v}" for v in self.violations[:20]]
        lines += [f"  defect in {fmt}: {message}" for fmt, message in self.defect_examples.items()]
        return "\n".join(lines)


# --- generation -------------------------------------------------------------------------------


def generate(seed: int, n: int) -> list[Case]:
    rng = random.Random(seed)
    names, weights = zip(*FORMATS.items())
    return [_case(rng, i, rng.choices(names, weights)[0]) for i in range(n)]


def _bytes_mutation(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    mutator = rng.choice(BYTE_MUTATORS)
    return mutator(rng, data), mutator.__name__


def _case(rng: random.Random, number: int, fmt: str) -> Case:
    if fmt in ("csv", "tsv"):
        delimiter = "," if fmt == "csv" else "\t"
        seed = corpus.csv_text(rng.choice(list(corpus.FLAT)), delimiter).encode()
        mode = rng.random()
        if mode < 0.45:
            data, records, done = line_mutation(rng, seed, delimiter.encode())
            return Case(number, fmt, f"lines: {done}", data, records)
        if mode < 0.6:
            return Case(number, fmt, "header", header_mutation(rng, seed, delimiter.encode()))
        data, done = _bytes_mutation(rng, seed)
        return Case(number, fmt, done, data)
    if fmt == "parquet":
        kind = rng.choice(list(corpus.FLAT))
        data, odd = _parquet(rng, kind)
        if rng.random() < 0.35:
            data, done = _bytes_mutation(rng, data)
            return Case(number, fmt, f"{odd}; {done}", data)
        return Case(number, fmt, odd, data, len(corpus.FLAT[kind]) - 1)
    if fmt == "hl7":
        seed = rng.choice(corpus.hl7_seeds())
        if rng.random() < 0.6:
            return Case(number, fmt, "segments", mutate_hl7(rng, seed))
        data, done = _bytes_mutation(rng, seed)
        return Case(number, fmt, done, data)
    if fmt == "fhir_json":
        seed = rng.choice(corpus.fhir_json_seeds())
        if rng.random() < 0.6:
            try:
                return Case(number, fmt, "json structure", json.dumps(mutate_json(rng, json.loads(seed))).encode())
            except ValueError:
                pass
        data, done = _bytes_mutation(rng, seed)
        return Case(number, fmt, done, data)
    if fmt == "fhir_ndjson":
        return _ndjson_case(rng, number)
    profile = mutate_yaml_text(rng, corpus.PROFILE)
    data, records, _ = line_mutation(rng, corpus.PROFILE_EXPORT.encode(), b";")
    return Case(number, "profile", "yaml", data, records, profile)


def _ndjson_case(rng: random.Random, number: int) -> Case:
    lines = corpus.ndjson_seed().splitlines()
    choice = rng.randrange(6)
    if choice < 3:
        i = rng.randrange(len(lines))
        lines[i] = json.dumps(mutate_json(rng, json.loads(lines[i]))).encode()
        return Case(number, "fhir_ndjson", "json structure of a line", b"\n".join(lines) + b"\n")
    if choice == 3:
        lines.insert(rng.randrange(len(lines) + 1), json.dumps(corpus.BUNDLE).encode())
        return Case(number, "fhir_ndjson", "a Bundle on one line", b"\n".join(lines) + b"\n")
    if choice == 4:
        i = rng.randrange(len(lines))
        lines[i] = lines[i][:rng.randrange(len(lines[i]))]
        return Case(number, "fhir_ndjson", "a line cut short", b"\n".join(lines) + b"\n")
    data, done = _bytes_mutation(rng, b"\n".join(lines) + b"\n")
    return Case(number, "fhir_ndjson", done, data)


_PARQUET_TYPES = ["VARCHAR", "INTEGER", "DOUBLE", "DATE", "TIMESTAMP", "BOOLEAN", "BLOB", "VARCHAR[]",
                  "STRUCT(v VARCHAR)", "DECIMAL(4,1)"]


def _parquet(rng: random.Random, kind: str) -> tuple[bytes, str]:
    """A Parquet file of the kind's seed rows, some columns of odd types (DuckDB writes it)."""
    import tempfile

    header, *rows = corpus.FLAT[kind]
    names = header.split(",")
    types = [rng.choice(_PARQUET_TYPES) if rng.random() < 0.4 else "VARCHAR" for _ in names]
    con = duckdb.connect()
    try:
        con.execute("CREATE TABLE t (" + ", ".join(f'"{n}" VARCHAR' for n in names) + ")")
        con.executemany("INSERT INTO t VALUES (" + ", ".join("?" for _ in names) + ")",
                        [[v or None for v in (r.split(",") + [""] * len(names))[:len(names)]] for r in rows])
        exprs = []
        for n, t in zip(names, types):
            if t == "VARCHAR[]":
                exprs.append(f'[\"{n}\"] AS "{n}"')
            elif t == "STRUCT(v VARCHAR)":
                exprs.append(f'{{v: "{n}"}} AS "{n}"')
            elif t == "BLOB":
                exprs.append(f'encode("{n}") AS "{n}"')
            else:
                exprs.append(f'TRY_CAST("{n}" AS {t}) AS "{n}"')
        with tempfile.TemporaryDirectory() as folder:
            target = Path(folder) / "x.parquet"
            con.execute(f"COPY (SELECT {', '.join(exprs)} FROM t) TO '{target}' (FORMAT parquet)")
            data = target.read_bytes()
    finally:
        con.close()
    odd = ", ".join(f"{n} {t}" for n, t in zip(names, types) if t != "VARCHAR") or "all text"
    return data, f"parquet ({odd})"


# --- running and checking ---------------------------------------------------------------------


class Hang(BaseException):
    """Raised by the interval timer when one file takes longer than the bound."""


def _alarm(signum, frame):
    raise Hang()


def run(cases: list[Case], workdir: Path, batch: int = 250, bound: float = 60.0) -> Findings:
    """Load every case into one warehouse under `workdir` and check the invariants."""
    workdir = Path(workdir)
    warehouse = workdir / "wh" / "osteoreg.duckdb"
    findings = Findings()
    started = time.perf_counter()
    previous = signal.signal(signal.SIGALRM, _alarm)
    try:
        flat_cases = [c for c in cases if c.format != "profile"]
        for start in range(0, len(flat_cases), batch):
            chunk = flat_cases[start:start + batch]
            folder = workdir / f"batch{start:06d}"
            folder.mkdir(parents=True)
            for case in chunk:
                (folder / case.name).write_bytes(case.data)
            _ingest(findings, warehouse, {folder / c.name: c for c in chunk}, [folder], None, bound)
        for case in (c for c in cases if c.format == "profile"):
            folder = workdir / f"profile{case.number:06d}"
            folder.mkdir(parents=True)
            profile = folder / "profile.yaml"
            profile.write_text(case.profile, encoding="utf-8")
            export = folder / case.name
            export.write_bytes(case.data)
            try:
                load_profile(profile)
            except InputError as refused:
                _check_message(findings, case, str(refused), prefix=f"The source profile {profile}")
                findings.statuses["profile refused"] += 1
                findings.cases += 1
                findings.by_format["profile"] += 1
                continue
            except Exception as error:  # noqa: BLE001 - that is the finding
                findings.violations.append(f"{case.name} profile ({case.mutation}): {type(error).__name__} escaped")
                continue
            _ingest(findings, warehouse, {export: case}, [export], profile, bound)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    findings.seconds = time.perf_counter() - started
    return findings


def _ingest(findings: Findings, warehouse: Path, cases: dict[Path, Case], paths: list[Path],
            profile: Path | None, bound: float) -> None:
    def tick(outcome: FileOutcome) -> None:
        signal.setitimer(signal.ITIMER_REAL, bound)

    signal.setitimer(signal.ITIMER_REAL, bound)
    try:
        report = ingest_paths(warehouse, paths, profile_path=profile, progress=tick)
    except Hang:
        findings.hangs += 1
        findings.violations.append(f"a file of {paths[0]} took longer than {bound:.0f} s")
        return
    except OsteoregError as error:
        findings.violations.append(f"{paths[0]}: the whole ingest stopped with {type(error).__name__}: {error}")
        return
    except Exception as error:  # noqa: BLE001 - that is the finding
        findings.violations.append(f"{paths[0]}: {type(error).__name__} escaped ingest_paths (a traceback)")
        return
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        raw_tables = [f"raw.{t}" for t, in conn.execute(
            "SELECT table_name FROM information_schema.columns WHERE table_schema = 'raw' "
            "AND column_name = 'load_id'").fetchall()]
        for outcome in report.files:
            case = cases.get(outcome.path)
            if case is None:
                findings.violations.append(f"{outcome.path}: an outcome for a file never sent")
                continue
            findings.cases += 1
            findings.by_format[case.format] += 1
            findings.statuses[outcome.status] += 1
            findings.slowest = max(findings.slowest, outcome.seconds)
            _check_outcome(findings, conn, raw_tables, case, outcome)


def _check_message(findings: Findings, case: Case, message: str, prefix: str) -> None:
    if "Traceback" in message or "\n" in message:
        findings.violations.append(f"{case.name} ({case.mutation}): a message of more than one line")
    if not message.startswith(prefix):
        findings.violations.append(f"{case.name} ({case.mutation}): message does not start with {prefix}")


def _check_outcome(findings: Findings, conn, raw_tables: list[str], case: Case, outcome: FileOutcome) -> None:
    where = f"{case.name} ({case.format}, {case.mutation})"
    if outcome.status not in ("loaded", "skipped", "failed"):
        findings.violations.append(f"{where}: status {outcome.status}")
        return
    if outcome.status == "skipped":
        return
    row = conn.execute("SELECT status, rows_read, rows_loaded, rows_quarantined, rows_duplicate FROM audit.loads "
                       "WHERE load_id = ?", [outcome.load_id]).fetchall()
    in_raw = sum(conn.execute(f"SELECT count(*) FROM {t} WHERE load_id = ?", [outcome.load_id]).fetchall()[0][0]
                 for t in raw_tables)
    quarantined = conn.execute("SELECT count(*) FROM audit.quarantine WHERE load_id = ?",
                               [outcome.load_id]).fetchall()[0][0]
    if outcome.status == "failed":
        _check_message(findings, case, outcome.message or "", prefix=str(outcome.path))
        if "stopped on an unexpected" in (outcome.message or ""):
            findings.reader_defects[case.format] += 1
            findings.defect_examples.setdefault(case.format, outcome.message.split(": ", 1)[1])
        if row != [("failed", 0, 0, 0, 0)] or in_raw or quarantined:
            findings.violations.append(f"{where}: a failed file left rows (ledger {row}, raw {in_raw}, "
                                       f"quarantine {quarantined})")
        return
    counts = (outcome.rows_read, outcome.rows_loaded, outcome.rows_quarantined, outcome.rows_duplicate)
    if outcome.rows_read != outcome.rows_loaded + outcome.rows_quarantined + outcome.rows_duplicate:
        findings.violations.append(f"{where}: read {counts[0]} != loaded + quarantined + duplicate {counts[1:]}")
    if row != [("loaded", *counts)]:
        findings.violations.append(f"{where}: ledger {row} disagrees with the outcome {counts}")
    if in_raw != outcome.rows_loaded or quarantined != outcome.rows_quarantined:
        findings.violations.append(f"{where}: raw holds {in_raw} rows and quarantine {quarantined} for "
                                   f"loaded {outcome.rows_loaded}, quarantined {outcome.rows_quarantined}")
    if case.records is not None and outcome.rows_read != case.records:
        findings.violations.append(f"{where}: {case.records} records sent but {outcome.rows_read} read")
