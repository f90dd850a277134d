"""The steps strung together: ingest -> build -> check -> score -> publish (`run`), and `demo`.

Nothing here prints. Each step returns its result object; `run` and `demo` return one report
holding them all. A caller that wants to show progress passes `Hooks` (etl/console.py does), so
it sees each step start, its progress lines, each file's outcome, and each step's result the
moment the step ends, before a blocking failure of the next step is raised.

Quality checks, scoring and the report are imported when first used: Great Expectations (~5 s)
and the scientific stack would otherwise slow every command.
"""
from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .as_known_at import AsKnownAtResult
from .as_known_at import build_as_known_at as as_known_at
from .build import BuildResult
from .cluster.export import ExportResult, export_raw
from .cluster.targets import build_on
from .errors import UsageError
from .ingest.loader import FileOutcome, IngestReport, expand, ingest_paths
from .publish import PublishResult, publish_snapshot
from .warehouse import session

if TYPE_CHECKING:  # result types only; their modules load when a step runs
    from .quality.results import CheckRun
    from .report.write import ReportResult
    from .scoring.runner import ScoreRun


def _ignore(*_: Any) -> None:
    return None


@dataclass
class Hooks:
    """What a caller sees while the steps run; every hook is optional."""

    started: Callable[[str, int | None], None] = _ignore       # step, number of items (files) or None
    progress: Callable[[str, str], None] = _ignore             # step, a line on what it does now
    file_done: Callable[[FileOutcome], None] = _ignore         # ingest: one file's outcome
    finished: Callable[[str, Any], None] = _ignore             # step, its result object


@dataclass(frozen=True)
class Ledger:
    """The load ledger's totals over the loaded files: read = loaded + quarantined + duplicate."""

    files: int
    rows_read: int
    rows_loaded: int
    rows_quarantined: int
    rows_duplicate: int


@dataclass
class RunReport:
    """What `run` did, step by step (a step that did not run stays None)."""

    warehouse: Path
    ingest: IngestReport
    build: BuildResult | None = None
    checks: CheckRun | None = None
    scoring: ScoreRun | None = None
    publish: PublishResult | None = None


@dataclass
class DemoReport:
    inputs: Path
    patients: int
    run: RunReport
    report: ReportResult
    ledger: Ledger
    warehouse: Path = field(init=False)

    def __post_init__(self) -> None:
        self.warehouse = self.run.warehouse


def ingest(warehouse_path: Path, paths: list[Path], profile: Path | None, hooks: Hooks | None = None,
           identity_settings: Path | None = None) -> IngestReport:
    """Load files and folders; `identity_settings` declares which patient-id namespaces are one."""
    hooks = hooks or Hooks()
    hooks.started("ingest", len(expand(paths)))
    report = ingest_paths(warehouse_path, paths, profile, progress=hooks.file_done, identity_path=identity_settings)
    hooks.finished("ingest", report)
    return report


def build(warehouse_path: Path, vars: dict | None = None, select: str | None = None,
          hooks: Hooks | None = None, full_refresh: bool = False, target: str = "duckdb") -> BuildResult:
    """`dbt build` (seeds, models, unit and data tests) on the target engine, full or incremental
    (etl/build.py `plan`); raises on the first failing node. On Spark or PostgreSQL the marts are
    then copied into the warehouse."""
    hooks = hooks or Hooks()
    hooks.started("build", None)
    result = build_on(warehouse_path, target, vars=vars, select=select,
                      progress=lambda line: hooks.progress("build", line), full_refresh=full_refresh)
    hooks.finished("build", result)
    return result


def check(warehouse_path: Path, suites: list[str] | None = None, hooks: Hooks | None = None) -> CheckRun:
    """Great Expectations suites inside DuckDB; raises after reporting when a critical check fails."""
    from .quality.runner import gate, run_checks

    hooks = hooks or Hooks()
    hooks.started("check", None)
    run = run_checks(warehouse_path, suites, progress=lambda line: hooks.progress("check", line))
    hooks.finished("check", run)
    gate(run)
    return run


def score(warehouse_path: Path, refit: bool = False, hooks: Hooks | None = None) -> ScoreRun:
    """Score every assessment that lacks a score from each model's current version."""
    from .scoring.runner import score as run_score

    hooks = hooks or Hooks()
    hooks.started("score", None)
    result = run_score(warehouse_path, refit=refit, progress=lambda line: hooks.progress("score", line))
    hooks.finished("score", result)
    return result


def publish(warehouse_path: Path, hooks: Hooks | None = None) -> PublishResult:
    """The read-only snapshot analysts query (`sql`, `report`, BI tools), replaced atomically."""
    hooks = hooks or Hooks()
    hooks.started("publish", None)
    result = publish_snapshot(warehouse_path)
    hooks.finished("publish", result)
    return result


def build_and_publish(warehouse_path: Path, vars: dict | None = None, select: str | None = None,
                      hooks: Hooks | None = None, full_refresh: bool = False,
                      target: str = "duckdb") -> tuple[BuildResult, PublishResult]:
    """`osteoreg build`: the marts (on any target), then the snapshot that carries them."""
    built = build(warehouse_path, vars, select, hooks, full_refresh, target)
    return built, publish(warehouse_path, hooks)


def build_as_known_at(warehouse_path: Path, when, vars: dict | None = None, hooks: Hooks | None = None) -> AsKnownAtResult:
    """`osteoreg build --as-known-at`: the loads finished by `when`, built whole in their own warehouse
    file and published beside it (contract 9)."""
    hooks = hooks or Hooks()
    hooks.started("build", None)
    result = as_known_at(warehouse_path, when, vars, progress=lambda line: hooks.progress("build", line))
    hooks.finished("build", result.build)
    hooks.finished("publish", result.publish)
    return result


def export_raw_layer(warehouse_path: Path, directory: Path, hooks: Hooks | None = None) -> ExportResult:
    """`osteoreg export-raw DIR`: the raw layer as Parquet by load, new loads appended."""
    hooks = hooks or Hooks()
    hooks.started("export-raw", None)
    result = export_raw(warehouse_path, directory)
    hooks.finished("export-raw", result)
    return result


def report(warehouse_path: Path, out_dir: Path, hooks: Hooks | None = None) -> ReportResult:
    from .report import write_report

    hooks = hooks or Hooks()
    hooks.started("report", None)
    result = write_report(warehouse_path, out_dir)
    hooks.finished("report", result)
    return result


def run(warehouse_path: Path, paths: list[Path], profile: Path | None, hooks: Hooks | None = None) -> RunReport:
    """ingest -> build -> check -> score -> publish, stopping at the first blocking failure."""
    done = RunReport(warehouse=Path(warehouse_path), ingest=ingest(warehouse_path, paths, profile, hooks))
    if done.ingest.failed:
        raise UsageError(f"{len(done.ingest.failed)} file(s) could not be loaded (see above); the pipeline stops "
                         "before building so the marts do not silently miss them.")
    done.build = build(warehouse_path, hooks=hooks)
    done.checks = check(warehouse_path, hooks=hooks)
    done.scoring = score(warehouse_path, hooks=hooks)
    done.publish = publish(warehouse_path, hooks)
    return done


def ledger(warehouse_path: Path) -> Ledger:
    with session(warehouse_path, read_only=True) as conn:
        row = conn.execute(
            "SELECT count(*), coalesce(sum(rows_read), 0), coalesce(sum(rows_loaded), 0), "
            "coalesce(sum(rows_quarantined), 0), coalesce(sum(rows_duplicate), 0) "
            "FROM audit.loads WHERE status = 'loaded'").fetchone()
    return Ledger(*(int(value) for value in row))


def demo(warehouse_path: Path, out_dir: Path, patients: int, seed: int, hooks: Hooks | None = None) -> DemoReport:
    """A synthetic cohort from three kinds of source, through the whole pipeline and the report."""
    from .synth.mixed import write_mixed

    hooks = hooks or Hooks()
    inputs = out_dir / "input"
    shutil.rmtree(inputs, ignore_errors=True)
    hooks.started("generate", patients)
    write_mixed(inputs, n_patients=patients, seed=seed)
    hooks.finished("generate", inputs)
    done = run(warehouse_path, [inputs], None, hooks)
    written = report(warehouse_path, out_dir / "report", hooks)
    return DemoReport(inputs=inputs, patients=patients, run=done, report=written, ledger=ledger(warehouse_path))


__all__ = ["DemoReport", "Hooks", "Ledger", "RunReport", "build", "build_and_publish", "build_as_known_at", "check",
           "demo", "ingest",
           "ledger", "publish", "report", "run", "score"]
