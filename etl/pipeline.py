"""The steps strung together for `ingest`, `run` and `demo`, with progress shown on a console.

This is the presentation side of the commands: it calls the working modules (which never
print) and renders their results as rich progress bars and tables that fit the terminal.
"""
from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

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


def demo(warehouse_path: Path, out_dir: Path, patients: int, seed: int, console: Console) -> None:
    from .synth.flat import write_flat

    inputs = out_dir / "input"
    with console.status(f"Generating a synthetic cohort of {patients:,} patients"):
        write_flat(inputs, n_patients=patients, seed=seed)
    console.print(f"Synthetic exports written to {inputs}")
    ingest(warehouse_path, [inputs], None, console)
    console.print(f"Warehouse: {warehouse_path}")
