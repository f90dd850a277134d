"""The one place that renders results on the terminal: progress while steps run, then their
result objects as lines and tables that fit the terminal.

The CLI calls one function here per command; each calls the working function (etl/pipeline.py
and the stages below it, which never print) with `Hooks` that drive a live display, and renders
each step's result as soon as the step ends, so a blocking failure of the next step arrives after
the tables that explain it. Text that came from input (file names, reader messages) is escaped
so that rich never reads it as markup.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from . import pipeline
from .build import BuildResult
from .ingest.loader import NOT_DATA, FileOutcome, IngestReport
from .pipeline import DemoReport, Hooks, Ledger, RunReport
from .publish import PublishResult
from .textsafe import for_terminal

_SPINNER_TEXT = {"build": "parsing the project", "check": "loading Great Expectations", "score": "reading the marts",
                 "publish": "Publishing the analyst snapshot and data dictionary", "report": "Writing the report"}


def _from_input(value: object) -> str:
    """A value that came from an input file, shown as written: rich markup escaped and control
    characters stripped (`etl.textsafe`), so a file cannot style or move the terminal."""
    return for_terminal(value)


# --- renderings of result objects ---------------------------------------------------------------

def file_line(outcome: FileOutcome, root: Path | None) -> str:
    name = str(outcome.path.relative_to(root)) if root and outcome.path.is_relative_to(root) else str(outcome.path)
    name = _from_input(name)
    if outcome.status == "skipped":
        return f"[dim]skipped[/dim]  {name}: {_from_input(outcome.message)}"
    if outcome.status == "failed":
        return f"[red]failed[/red]   {_from_input(outcome.message)}"
    parts = [f"read {outcome.rows_read:,}", f"loaded {outcome.rows_loaded:,}",
             f"quarantined {outcome.rows_quarantined:,}", f"duplicate {outcome.rows_duplicate:,}"]
    if outcome.rows_untracked:
        parts.append(f"untracked {outcome.rows_untracked:,}")
    if outcome.rows_skipped:
        parts.append(f"skipped resources {outcome.rows_skipped:,}")
    profile = f", {_from_input(outcome.profile)}" if outcome.profile else ""
    kind = f"{outcome.kind} ({outcome.format}{profile})"
    return f"[green]loaded[/green]   {name} {kind}: {', '.join(parts)} [dim]{outcome.seconds:.1f} s[/dim]"


def ingest_summary(report: IngestReport) -> str:
    """One line with the accounting identity: read = loaded + quarantined + duplicate."""
    statuses = {s: sum(f.status == s for f in report.files) for s in ("loaded", "skipped", "failed")}
    not_data = sum(f.status == "skipped" and f.message == NOT_DATA for f in report.files)
    passed_over = f", {not_data} not data" if not_data else ""
    return (f"[bold]{len(report.files)} file(s)[/bold]: {statuses['loaded']} loaded, "
            f"{statuses['skipped'] - not_data} skipped (already loaded){passed_over}, {statuses['failed']} failed. Rows read {report.total('rows_read'):,} = loaded "
            f"{report.total('rows_loaded'):,} + quarantined {report.total('rows_quarantined'):,} + duplicate "
            f"{report.total('rows_duplicate'):,}.")


def ledger_line(ledger: Ledger) -> str:
    return (f"[bold]Loads in the warehouse[/bold]: {ledger.files:,} file(s); rows read {ledger.rows_read:,} = "
            f"loaded {ledger.rows_loaded:,} + quarantined {ledger.rows_quarantined:,} + duplicate "
            f"{ledger.rows_duplicate:,}.")


def build_line(result: BuildResult) -> str:
    """The build's counts, then a line per warning (e.g. a source whose DXA rows are all radius)."""
    lines = [f"dbt build: {result.count('seed')} seeds, {result.count('model')} models, "
             f"{result.count('test')} data tests, {result.count('unit_test')} unit tests passed "
             f"in {result.seconds:.1f} s."]
    if result.plan is not None:  # contract 9: which kind of build, and why
        scope = (f" ({result.patients_in_scope:,} patient{'' if result.patients_in_scope == 1 else 's'})"
                 if result.patients_in_scope is not None else "")
        lines.append(f"{result.plan.mode.capitalize()} build: {escape(result.plan.reason)}{scope}.")
    for warning in result.warnings:
        rows = warning.failures or 0
        lines.append(f"  [yellow]warning[/yellow] {escape(warning.description or warning.name)} "
                     f"(dbt test {escape(warning.name)}: {rows} row{'' if rows == 1 else 's'})")
    return "\n".join(lines)


def publish_line(result: PublishResult) -> str:
    return f"Published {len(result.tables)} tables ({result.rows:,} rows) to {result.path}"


def check_table(run) -> Table:
    table = Table(title=f"Quality run {run.run_id}", title_justify="left")
    for column, justify in (("suite", "left"), ("checks", "right"), ("passed", "right"), ("failed", "right"),
                            ("critical failed", "right")):
        table.add_column(column, justify=justify)
    for s in run.suites:
        if s.status == "skipped":
            table.add_row(f"[dim]{s.suite}[/dim]", str(s.checks), "[dim]skipped[/dim]", "", "")
            continue
        critical = f"[red]{s.critical_failed}[/red]" if s.critical_failed else "0"
        table.add_row(s.suite, str(s.checks), str(s.passed), str(s.failed), critical)
    return table


def check_failure_lines(run) -> list[str]:
    lines = []
    for failure in run.failures:
        where = f"{failure.table}.{failure.column}" if failure.column else failure.table
        count = "" if failure.unexpected_count is None else f": {failure.unexpected_count:,} rows"
        lines.append(f"  [{'red' if failure.severity == 'critical' else 'yellow'}]{failure.severity}[/] "
                     f"{failure.suite} {failure.expectation} on {where}{count}")
    return lines


def score_table(result) -> Table:
    table = Table(title="Risk models", title_justify="left")
    for column, justify in (("model", "left"), ("version", "left"), ("fitted", "left"), ("new scores", "right")):
        table.add_column(column, justify=justify)
    for model in result.models:
        if model.status == "refused":
            table.add_row(model.model_name, "", "", "[yellow]refused[/yellow]")
            continue
        fitted = "new version" if model.new_version else ("refitted" if model.fitted else "current")
        table.add_row(model.model_name, model.model_version or "", fitted, f"{model.new_scores:,}")
    return table


# --- the live display ----------------------------------------------------------------------------

class Display:
    """`Hooks` on a rich console: a progress line per step, each result rendered when it ends."""

    def __init__(self, console: Console, root: Path | None = None):
        self.console = console
        self.errors = Console(stderr=True)
        self.root = root
        self._progress: Progress | None = None
        self._task = None

    def hooks(self) -> Hooks:
        return Hooks(started=self.started, progress=self.progress, file_done=self.file_done, finished=self.finished)

    def _print(self, text: str) -> None:
        target = self._progress.console if self._progress else self.console
        target.print(text, highlight=False, soft_wrap=True)

    def started(self, step: str, total: int | None) -> None:
        self.close()
        if step == "ingest":
            self._progress = Progress(TextColumn("[bold]ingest[/bold]"), BarColumn(), MofNCompleteColumn(),
                                      TimeElapsedColumn(), console=self.console, transient=True)
            self._task = self._progress.add_task("files", total=total)
        elif step == "generate":
            self._progress = Progress(SpinnerColumn(), TextColumn(f"Generating a synthetic cohort of {total:,} patients"),
                                      console=self.console, transient=True)
            self._task = self._progress.add_task("generate", total=None)
        else:
            self._progress = Progress(SpinnerColumn(), TextColumn(f"[bold]{step}[/bold] {{task.description}}"),
                                      TimeElapsedColumn(), console=self.console, transient=True)
            self._task = self._progress.add_task(_SPINNER_TEXT.get(step, ""), total=None)
        self._progress.start()

    def progress(self, step: str, line: str) -> None:
        if self._progress is not None:
            self._progress.update(self._task, description=_from_input(line))

    def file_done(self, outcome: FileOutcome) -> None:
        line = file_line(outcome, self.root)
        if outcome.status == "failed":
            self.errors.print(line, highlight=False, soft_wrap=True)
        else:
            self._print(line)
        if self._progress is not None:
            self._progress.advance(self._task)

    def finished(self, step: str, result: Any) -> None:
        self.close()
        render = _RENDER.get(step)
        if render is not None:
            render(self.console, result)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


def _show_ingest(console: Console, report: IngestReport) -> None:
    console.print(ingest_summary(report), highlight=False, soft_wrap=False)


def _show_build(console: Console, result: BuildResult) -> None:
    console.print(build_line(result), highlight=False)


def _show_check(console: Console, run) -> None:
    console.print(check_table(run))
    for line in check_failure_lines(run):
        console.print(line, highlight=False)
    if run.data_docs_path:
        console.print(f"Data Docs: {run.data_docs_path}", highlight=False)


def _show_score(console: Console, result) -> None:
    console.print(score_table(result))
    for model in result.refusals:
        console.print(f"  [yellow]warning[/yellow] {model.message}", highlight=False)


def _show_publish(console: Console, result: PublishResult) -> None:
    console.print(publish_line(result), highlight=False)


def _show_generate(console: Console, inputs: Path) -> None:
    console.print(f"Synthetic exports (CSV, TSV, Parquet, HL7 v2, FHIR NDJSON) written to {inputs}", highlight=False)


_RENDER = {"ingest": _show_ingest, "build": _show_build, "check": _show_check, "score": _show_score,
           "publish": _show_publish, "generate": _show_generate}


@contextlib.contextmanager
def _live(console: Console, paths: list[Path] | None = None, root: Path | None = None) -> Iterator[Hooks]:
    """Hooks on a live display that is always closed, whether the steps end or raise."""
    if root is None and paths and len(paths) == 1 and paths[0].is_dir():
        root = paths[0].absolute()
    display = Display(console, root)
    try:
        yield display.hooks()
    finally:
        display.close()


# --- one function per command ---------------------------------------------------------------------

def ingest(console: Console, warehouse_path: Path, paths: list[Path], profile: Path | None,
           identity_settings: Path | None = None) -> IngestReport:
    with _live(console, paths) as hooks:
        return pipeline.ingest(warehouse_path, paths, profile, hooks, identity_settings)


def build(console: Console, warehouse_path: Path, vars: dict | None = None, select: str | None = None,
          full_refresh: bool = False, target: str = "duckdb"):
    with _live(console) as hooks:
        return pipeline.build_and_publish(warehouse_path, vars, select, hooks, full_refresh, target)


def build_as_known_at(console: Console, warehouse_path: Path, when, vars: dict | None = None):
    with _live(console) as hooks:
        result = pipeline.build_as_known_at(warehouse_path, when, vars, hooks)
    console.print(f"As known at {when:%Y-%m-%d %H:%M:%S}: {result.loads:,} load(s), up to load {result.max_load_id}, "
                  f"built in {escape(str(result.warehouse))}.", highlight=False)
    return result


def export_raw(console: Console, warehouse_path: Path, directory: Path):
    result = pipeline.export_raw_layer(warehouse_path, directory)
    console.print(f"Exported {len(result.new_loads)} new load(s), {result.rows:,} raw rows, to {result.directory}",
                  highlight=False)
    return result


def check(console: Console, warehouse_path: Path, suites: list[str] | None = None):
    with _live(console) as hooks:
        return pipeline.check(warehouse_path, suites, hooks)


def score(console: Console, warehouse_path: Path, refit: bool = False):
    with _live(console) as hooks:
        return pipeline.score(warehouse_path, refit, hooks)


def run(console: Console, warehouse_path: Path, paths: list[Path], profile: Path | None) -> RunReport:
    with _live(console, paths) as hooks:
        return pipeline.run(warehouse_path, paths, profile, hooks)


def report(console: Console, warehouse_path: Path, out_dir: Path):
    with _live(console) as hooks:
        result = pipeline.report(warehouse_path, out_dir, hooks)
    console.print(f"Report: {result.html}", highlight=False)
    console.print(result.headline.sentence(), highlight=False)
    return result


def demo(console: Console, warehouse_path: Path, out_dir: Path, patients: int, seed: int) -> DemoReport:
    with _live(console, root=(out_dir / "input").absolute()) as hooks:
        done = pipeline.demo(warehouse_path, out_dir, patients, seed, hooks)
    # The recap: what the warehouse holds (a second demo finds its files loaded already), what it
    # shows, and where to look.
    console.rule("demo")
    console.print(ledger_line(done.ledger), highlight=False)
    console.print(done.report.headline.sentence(), highlight=False)
    console.print(f"Report: {done.report.html}", highlight=False)
    console.print(f"Warehouse: {done.warehouse}", highlight=False)
    return done


__all__ = ["Display", "build", "check", "demo", "ingest", "report", "run", "score"]
