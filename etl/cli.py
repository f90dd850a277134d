"""The `osteoreg` command line: parses arguments, calls one function per command, prints results.

Nothing below this module prints or exits. Errors the user can act on arrive as
`OsteoregError` and are printed as one sentence (exit 1, or 2 for bad usage or input);
`--debug` shows the traceback instead.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from . import __version__
from .errors import OsteoregError
from .paths import resolve_warehouse

console = Console()
err_console = Console(stderr=True)

app = typer.Typer(
    name="osteoreg",
    help="Bone-health registry: load lab and DXA exports into DuckDB, build marts, check quality.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

WarehouseOption = typer.Option(
    None, "--warehouse", "-w", metavar="PATH",
    help="Warehouse file (default: $OSTEOREG_WAREHOUSE, else ./warehouse/osteoreg.duckdb).",
)


def _warehouse(ctx: typer.Context, local: Optional[Path]) -> Path:
    chosen = local or (ctx.obj or {}).get("warehouse")
    return resolve_warehouse(chosen)


@app.callback()
def _root(
    ctx: typer.Context,
    warehouse: Optional[Path] = WarehouseOption,
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks instead of one-sentence errors."),
    version: bool = typer.Option(False, "--version", help="Print the version and exit."),
) -> None:
    if version:
        console.print(f"osteoreg {__version__}")
        raise typer.Exit(0)
    ctx.obj = {"warehouse": warehouse, "debug": debug}


@app.command()
def init(ctx: typer.Context, warehouse: Optional[Path] = WarehouseOption) -> None:
    """Create or upgrade the warehouse to the newest schema (Alembic upgrade head); safe to repeat."""
    from . import warehouse as wh

    path = _warehouse(ctx, warehouse)
    before = wh.current_revision(path)
    after = wh.upgrade(path)
    state = "already at" if before == after else f"upgraded from {before or 'empty'} to"
    console.print(f"Warehouse {path}: {state} schema revision {after}.")


@app.command()
def ingest(
    ctx: typer.Context,
    paths: list[Path] = typer.Argument(..., help="Files or folders (searched recursively)."),
    profile: Optional[Path] = typer.Option(None, "--profile", "-p", help="Source profile (YAML) for these files."),
    warehouse: Optional[Path] = WarehouseOption,
) -> None:
    """Load CSV/TSV/Parquet exports (and HL7 v2 / FHIR files): each file whole or not at all."""
    from .pipeline import ingest as run_ingest

    path = _warehouse(ctx, warehouse)
    report = run_ingest(path, paths, profile, console)
    if report.failed:
        raise typer.Exit(2)


@app.command()
def demo(
    ctx: typer.Context,
    patients: int = typer.Option(2000, "--patients", "-n", min=50, help="Synthetic patients to generate."),
    out: Path = typer.Option(Path("demo"), "--out", help="Folder for the synthetic inputs and the demo warehouse."),
    seed: int = typer.Option(20261122, "--seed", help="Random seed (same seed, same files)."),
    warehouse: Optional[Path] = WarehouseOption,
) -> None:
    """Generate a synthetic cohort and run the pipeline on it into a demo warehouse."""
    from .pipeline import demo as run_demo

    chosen = warehouse or (ctx.obj or {}).get("warehouse")
    target = resolve_warehouse(chosen) if chosen else (out / "osteoreg.duckdb").absolute()
    run_demo(target, out.absolute(), patients, seed, console)


def print_table(title: str, headers: list[str], rows: list[list]) -> None:
    table = Table(title=title, show_lines=False)
    for h in headers:
        table.add_column(h, overflow="fold")
    for row in rows:
        table.add_row(*["" if v is None else str(v) for v in row])
    console.print(table)


def main() -> None:
    """Console-script entry point: one sentence per error unless --debug."""
    debug = "--debug" in sys.argv
    try:
        app()
    except OsteoregError as error:
        if debug:
            raise
        err_console.print(f"[red]error:[/red] {error}", highlight=False, soft_wrap=True)
        sys.exit(error.exit_code)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()
