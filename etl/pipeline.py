"""The steps strung together for `ingest`, `run` and `demo`, with progress shown on a console.

This is the presentation side of the commands: it calls the working modules (which never
print) and renders their results as rich progress bars and tables that fit the terminal.
"""
from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from .errors import UsageError
from .warehouse import session

from .ingest.loader import FileOutcome, IngestReport, expand, ingest_paths


def _file_line(outcome: FileOutcome, root: Path | None) -> str:
    name = str(outcome.path.relative_to(root)) if root and outcome.path.is_relative_to(root) else str(outcome.path)
    if outcome.status == "skipped":
        return f"[dim]skipped[/dim]  {name}: {outcome.message}"
    if outcome.status == "failed":
        return f"[red]failed[/red]   {outcome.message}"
    parts = [f"read {outcome.rows_read:,}", f"loaded {outcome.rows_loaded:,}",
             f"quarantined {outcome.rows_quarantined:,}", f"duplicate {outcome.rows_duplicate:,}"]
    if outcome.rows_untracked:
        parts.append(f"untracked {outcome.rows_untracked:,}")
    if outcome.rows_skipped:
        parts.append(f"skipped resources {outcome.rows_skipped:,}")
    kind = f"{outcome.kind} ({outcome.format}{', ' + outcome.profile if outcome.profile else ''})"
    return f"[green]loaded[/green]   {name} {kind}: {', '.join(parts)} [dim]{outcome.seconds:.1f} s[/dim]"


def ingest(warehouse_path: Path, paths: list[Path], profile: Path | None, console: Console) -> IngestReport:
    error_console = Console(stderr=True)
    files = expand(paths)
    root = paths[0].absolute() if len(paths) == 1 and paths[0].is_dir() else None
    with Progress(TextColumn("[bold]ingest[/bold]"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True) as progress:
        task = progress.add_task("files", total=len(files))

        def advance(outcome: FileOutcome) -> None:
            target = error_console if outcome.status == "failed" else progress.console
            target.print(_file_line(outcome, root), highlight=False, soft_wrap=True)
            progress.advance(task)

        report = ingest_paths(warehouse_path, paths, profile, progress=advance)
    print_ingest_summary(report, console)
    return report


def print_ingest_summary(report: IngestReport, console: Console) -> None:
    """One line with the accounting identity: read = loaded + quarantined + duplicate."""
    statuses = {s: sum(f.status == s for f in report.files) for s in ("loaded", "skipped", "failed")}
    console.print(
        f"[bold]{len(report.files)} file(s)[/bold]: {statuses['loaded']} loaded, {statuses['skipped']} skipped "
        f"(already loaded), {statuses['failed']} failed. Rows read {report.total('rows_read'):,} = loaded "
        f"{report.total('rows_loaded'):,} + quarantined {report.total('rows_quarantined'):,} + duplicate "
        f"{report.total('rows_duplicate'):,}.", highlight=False, soft_wrap=False)


def print_ledger(warehouse_path: Path, console: Console) -> None:
    """The load ledger's totals: files loaded and read = loaded + quarantined + duplicate."""
    with session(warehouse_path, read_only=True) as conn:
        files, read, loaded, quarantined, duplicate = conn.execute(
            "SELECT count(*), coalesce(sum(rows_read), 0), coalesce(sum(rows_loaded), 0), "
            "coalesce(sum(rows_quarantined), 0), coalesce(sum(rows_duplicate), 0) "
            "FROM audit.loads WHERE status = 'loaded'").fetchall()[0]
    console.print(f"[bold]Loads in the warehouse[/bold]: {files:,} file(s); rows read {read:,} = loaded {loaded:,} "
                  f"+ quarantined {quarantined:,} + duplicate {duplicate:,}.", highlight=False)


def demo(warehouse_path: Path, out_dir: Path, patients: int, seed: int, console: Console) -> None:
    """A synthetic cohort from three kinds of source, through the whole pipeline."""
    import shutil

    from .synth.mixed import write_mixed

    inputs = out_dir / "input"
    shutil.rmtree(inputs, ignore_errors=True)
    with console.status(f"Generating a synthetic cohort of {patients:,} patients"):
        write_mixed(inputs, n_patients=patients, seed=seed)
    console.print(f"Synthetic exports (CSV, TSV, Parquet, HL7 v2, FHIR NDJSON) written to {inputs}", highlight=False)
    run(warehouse_path, [inputs], None, console)
    written = _write_report(warehouse_path, out_dir / "report", console)
    # The recap: what the warehouse holds (a second demo finds its files loaded already), what it
    # shows, and where to look.
    console.rule("demo")
    print_ledger(warehouse_path, console)
    console.print(written.headline.sentence(), highlight=False)
    console.print(f"Report: {written.html}", highlight=False)
    console.print(f"Warehouse: {warehouse_path}", highlight=False)


def build(warehouse_path: Path, console: Console, vars: dict | None = None, select: str | None = None):
    """`dbt build` with a one-line live display; a summary line when it is done."""
    from .build import build as dbt_build

    with Progress(SpinnerColumn(), TextColumn("[bold]dbt build[/bold] {task.description}"), TimeElapsedColumn(),
                  console=console, transient=True) as progress:
        task = progress.add_task("parsing the project", total=None)
        result = dbt_build(warehouse_path, vars=vars, select=select,
                           progress=lambda line: progress.update(task, description=line))
    console.print(f"dbt build: {result.count('seed')} seeds, {result.count('model')} models, "
                  f"{result.count('test')} data tests, {result.count('unit_test')} unit tests passed "
                  f"in {result.seconds:.1f} s.", highlight=False)
    for warning in result.warnings:
        rows = warning.failures or 0
        console.print(f"  [yellow]warning[/yellow] {warning.description or warning.name} "
                      f"(dbt test {warning.name}: {rows} row{'' if rows == 1 else 's'})", highlight=False)
    return result


def publish(warehouse_path: Path, console: Console) -> Path:
    """The read-only snapshot analysts query (`sql`, `report`, BI tools), replaced atomically."""
    from .publish import publish_snapshot

    with console.status("Publishing the analyst snapshot and data dictionary"):
        result = publish_snapshot(warehouse_path)
    console.print(f"Published {len(result.tables)} tables ({result.rows:,} rows) to {result.path}", highlight=False)
    return result.path


def report(warehouse_path: Path, out_dir: Path, console: Console):
    result = _write_report(warehouse_path, out_dir, console)
    console.print(f"Report: {result.html}", highlight=False)
    console.print(result.headline.sentence(), highlight=False)
    return result


def _write_report(warehouse_path: Path, out_dir: Path, console: Console):
    from .report import write_report

    with console.status("Writing the report"):
        return write_report(warehouse_path, out_dir)


def check(warehouse_path: Path, console: Console, suites: list[str] | None = None):
    """Great Expectations suites inside DuckDB; a table per suite; raises when a critical check fails."""
    from .quality.runner import gate, run_checks

    with Progress(SpinnerColumn(), TextColumn("[bold]check[/bold] {task.description}"), TimeElapsedColumn(),
                  console=console, transient=True) as progress:
        task = progress.add_task("loading Great Expectations", total=None)
        run = run_checks(warehouse_path, suites, progress=lambda line: progress.update(task, description=line))
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
    console.print(table)
    for failure in run.failures:
        where = f"{failure.table}.{failure.column}" if failure.column else failure.table
        count = "" if failure.unexpected_count is None else f": {failure.unexpected_count:,} rows"
        console.print(f"  [{'red' if failure.severity == 'critical' else 'yellow'}]{failure.severity}[/] "
                      f"{failure.suite} {failure.expectation} on {where}{count}", highlight=False)
    if run.data_docs_path:
        console.print(f"Data Docs: {run.data_docs_path}", highlight=False)
    gate(run)
    return run


def run(warehouse_path: Path, paths: list[Path], profile: Path | None, console: Console) -> IngestReport:
    """ingest -> build -> check -> score -> publish, stopping at the first blocking failure."""
    report = ingest(warehouse_path, paths, profile, console)
    if report.failed:
        raise UsageError(f"{len(report.failed)} file(s) could not be loaded (see above); the pipeline stops "
                         "before building so the marts do not silently miss them.")
    build(warehouse_path, console)
    check(warehouse_path, console)
    score(warehouse_path, console)
    publish(warehouse_path, console)
    return report


def score(warehouse_path: Path, console: Console, refit: bool = False):
    """Score every assessment that lacks a score from each model's current version."""
    from .scoring.runner import score as run_score

    with Progress(SpinnerColumn(), TextColumn("[bold]score[/bold] {task.description}"), TimeElapsedColumn(),
                  console=console, transient=True) as progress:
        task = progress.add_task("reading the marts", total=None)
        result = run_score(warehouse_path, refit=refit, progress=lambda line: progress.update(task, description=line))
    table = Table(title="Risk models", title_justify="left")
    for column, justify in (("model", "left"), ("version", "left"), ("fitted", "left"), ("new scores", "right")):
        table.add_column(column, justify=justify)
    for model in result.models:
        if model.status == "refused":
            table.add_row(model.model_name, "", "", "[yellow]refused[/yellow]")
            continue
        fitted = "new version" if model.new_version else ("refitted" if model.fitted else "current")
        table.add_row(model.model_name, model.model_version or "", fitted, f"{model.new_scores:,}")
    console.print(table)
    for model in result.refusals:
        console.print(f"  [yellow]warning[/yellow] {model.message}", highlight=False)
    return result
