"""The `osteoreg` command line: parses arguments and calls one function per command.

Rendering is etl/console.py's; nothing below the CLI and the console prints or exits. Errors the user can act on arrive as
`OsteoregError` and are printed as one sentence (exit 1, or 2 for bad usage or input);
`--debug` shows the traceback instead.
"""
from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path
from typing import Optional

import duckdb
import typer
from rich.console import Console

from . import __version__
from .errors import OsteoregError, UsageError
from .paths import resolve_warehouse
from .textsafe import for_terminal

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


def _print_version(value: bool) -> None:
    if value:
        console.print(f"osteoreg {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    ctx: typer.Context,
    warehouse: Optional[Path] = WarehouseOption,
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks instead of one-sentence errors."),
    version: bool = typer.Option(False, "--version", is_eager=True, callback=lambda value: _print_version(value),
                                 help="Print the version and exit."),
) -> None:
    ctx.obj = {"warehouse": warehouse, "debug": debug}


@app.command()
def init(ctx: typer.Context, warehouse: Optional[Path] = WarehouseOption) -> None:
    """Create or upgrade the warehouse to the newest schema (Alembic upgrade head); safe to repeat."""
    from . import warehouse as wh

    path = _warehouse(ctx, warehouse)
    before = wh.current_revision(path)
    after = wh.upgrade(path)
    state = "already at" if before == after else f"upgraded from {before or 'empty'} to"
    console.print(f"Warehouse {for_terminal(path)}: {state} schema revision {after}.")


@app.command()
def ingest(
    ctx: typer.Context,
    paths: list[Path] = typer.Argument(..., help="Files or folders (searched recursively)."),
    profile: Optional[Path] = typer.Option(None, "--profile", "-p", help="Source profile (YAML) for these files."),
    identity_settings: Optional[Path] = typer.Option(
        None, "--identity", help="Identity settings (YAML): which patient-id namespaces are one, and which records are one patient (same_patient); kept with the warehouse."),
    warehouse: Optional[Path] = WarehouseOption,
) -> None:
    """Load CSV/TSV/Parquet exports (and HL7 v2 / FHIR files): each file whole or not at all."""
    from . import console as show

    path = _warehouse(ctx, warehouse)
    report = show.ingest(console, path, paths, profile, identity_settings)
    if report.failed:
        raise typer.Exit(2)


def _parse_vars(text: Optional[str]) -> Optional[dict]:
    if not text:
        return None
    import yaml

    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        value = None
    if not isinstance(value, dict):
        raise UsageError(f"--vars must be a YAML or JSON mapping such as '{{mg_deficient_below_mmol_l: 0.70}}', not {text!r}.")
    return value


@app.command()
def build(
    ctx: typer.Context,
    vars: Optional[str] = typer.Option(None, "--vars", help="Rules (dbt vars) as YAML/JSON, e.g. '{mg_deficient_below_mmol_l: 0.70}'."),
    select: Optional[str] = typer.Option(None, "--select", "-s", help="dbt node selection (default: everything)."),
    full_refresh: bool = typer.Option(
        False, "--full-refresh", help="Rebuild every mart whole (by default only the patients of new loads are recomputed)."),
    as_known_at: Optional[str] = typer.Option(
        None, "--as-known-at", metavar="TIMESTAMP",
        help="Build from the loads finished by then only, into a separate warehouse and snapshot file."),
    target: str = typer.Option("duckdb", "--target", "-t",
                               help="Engine: duckdb (default), spark or postgres (docs/scaling-out.md)."),
    warehouse: Optional[Path] = WarehouseOption,
) -> None:
    """Run the dbt project (seeds, models, unit and data tests), then publish the analyst snapshot.

    Incremental after new loads; a whole rebuild when the project, seeds or rules changed (it says why)."""
    from . import console as show
    from .cluster.engines import check_target

    if as_known_at is not None:
        from .as_known_at import parse_time

        if select or full_refresh or target != "duckdb":
            raise UsageError("--as-known-at builds the whole project from scratch; leave out --select, --full-refresh and --target.")
        show.build_as_known_at(console, _warehouse(ctx, warehouse), parse_time(as_known_at), _parse_vars(vars))
        return
    show.build(console, _warehouse(ctx, warehouse), _parse_vars(vars), select, full_refresh, check_target(target))


@app.command("export-raw")
def export_raw(
    ctx: typer.Context,
    directory: Path = typer.Argument(..., metavar="DIR", help="Folder of the Parquet raw layer (created if missing)."),
    warehouse: Optional[Path] = WarehouseOption,
) -> None:
    """Write the raw layer (patient ids replaced by keys) as Parquet partitioned by load, appending new loads."""
    from . import console as show

    show.export_raw(console, _warehouse(ctx, warehouse), directory.absolute())


@app.command()
def check(
    ctx: typer.Context,
    suite: Optional[list[str]] = typer.Option(None, "--suite", help="Run only these suites (repeatable)."),
    warehouse: Optional[Path] = WarehouseOption,
) -> None:
    """Run the Great Expectations suites inside DuckDB; exit 1 if a critical check fails."""
    from . import console as show

    show.check(console, _warehouse(ctx, warehouse), suite or None)


@app.command()
def score(
    ctx: typer.Context,
    refit: bool = typer.Option(False, "--refit", help="Fit new versions of the fitted models (old ones are kept)."),
    export_model: Optional[tuple[str, Path]] = typer.Option(
        None, "--export-model", metavar="NAME FILE", help="Write a model's current version to FILE (JSON)."),
    import_model: Optional[Path] = typer.Option(
        None, "--import-model", metavar="FILE", help="Add a model exported by another registry and make it current."),
    warehouse: Optional[Path] = WarehouseOption,
) -> None:
    """Compute and persist risk for every assessment that lacks a score from each current model."""
    path = _warehouse(ctx, warehouse)
    if export_model and export_model[0]:
        from .scoring.runner import export_model as export

        written = export(path, export_model[0], export_model[1])
        console.print(for_terminal(f"Model {export_model[0]} written to {written}."), highlight=False)
        return
    if import_model:
        from .scoring.runner import import_model as load

        imported = load(path, import_model)
        state = "was already present" if imported.already_present else "imported"
        console.print(for_terminal(f"Model {imported.model_name} version {imported.model_version} {state} and is current."),
                      highlight=False)
        return
    from . import console as show

    show.score(console, path, refit)


@app.command()
def run(
    ctx: typer.Context,
    paths: list[Path] = typer.Argument(..., help="Files or folders to ingest first."),
    profile: Optional[Path] = typer.Option(None, "--profile", "-p", help="Source profile (YAML) for these files."),
    warehouse: Optional[Path] = WarehouseOption,
) -> None:
    """ingest, build, check and score, in that order; stops at the first blocking failure."""
    from . import console as show

    show.run(console, _warehouse(ctx, warehouse), paths, profile)


@app.command()
def sql(
    ctx: typer.Context,
    statement: Optional[str] = typer.Argument(None, help="One read-only SQL statement."),
    file: Optional[Path] = typer.Option(None, "--file", "-f", help="Read the statement from a .sql file."),
    fmt: str = typer.Option("table", "--format", help="table, csv or json."),
    warehouse: Optional[Path] = WarehouseOption,
) -> None:
    """Run one read-only query against the published snapshot (never blocked by a running ETL)."""
    from . import sql as analyst_sql

    if fmt not in analyst_sql.FORMATS:
        raise UsageError(f"--format must be one of {', '.join(analyst_sql.FORMATS)}, not {fmt!r}.")
    if (statement is None) == (file is None):
        raise UsageError("Give either a SQL statement or --file, not both or neither.")
    text = analyst_sql.read_query_file(file) if file else statement
    result = analyst_sql.query(_warehouse(ctx, warehouse), text)
    max_rows = max(console.height - 8, 10) if fmt == "table" and console.is_terminal else None
    print(analyst_sql.render(result, fmt, max_rows=max_rows))


@app.command()
def report(
    ctx: typer.Context,
    out: Path = typer.Option(Path("report"), "--out", "-o", help="Folder for the HTML report and mart CSVs."),
    warehouse: Optional[Path] = WarehouseOption,
) -> None:
    """Write a self-contained HTML report (with plots) and CSV tables of the marts."""
    from . import console as show

    show.report(console, _warehouse(ctx, warehouse), out.absolute())


@app.command()
def export(
    ctx: typer.Context,
    tables: list[str] = typer.Argument(..., metavar="TABLE...", help="Row-level tables, e.g. fct_lab_result."),
    restricted: bool = typer.Option(False, "--restricted", help="Required: say that you take row-level data out."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for the CSV files."),
    warehouse: Optional[Path] = WarehouseOption,
) -> None:
    """Write row-level marts from the snapshot as CSV (restricted; recorded in audit.restricted_exports)."""
    from .disclosure.export import export_restricted

    if not restricted:
        raise UsageError("Row-level data leaves only with --restricted (the export is recorded with your user name).")
    result = export_restricted(_warehouse(ctx, warehouse), tables, out)
    err_console.print(f"[yellow]warning:[/yellow] {result.warning}.", highlight=False, soft_wrap=True)
    for name, path in result.files.items():
        console.print(f"{name} -> {path}", highlight=False)
    console.print(f"Export {result.export_id} by {result.os_user}: {result.rows:,} rows, recorded in "
                  "audit.restricted_exports.", highlight=False)


@app.command()
def demo(
    ctx: typer.Context,
    patients: int = typer.Option(2000, "--patients", "-n", min=50, help="Synthetic patients to generate."),
    out: Path = typer.Option(Path("demo"), "--out", help="Folder for the synthetic inputs and the demo warehouse."),
    seed: int = typer.Option(20261122, "--seed", help="Random seed (same seed, same files)."),
    warehouse: Optional[Path] = WarehouseOption,
) -> None:
    """Generate a synthetic cohort and run the pipeline on it into a demo warehouse."""
    from . import console as show

    chosen = warehouse or (ctx.obj or {}).get("warehouse")
    target = resolve_warehouse(chosen) if chosen else (out / "osteoreg.duckdb").absolute()
    show.demo(console, target, out.absolute(), patients, seed)


def main() -> None:
    """Console-script entry point: one sentence per error unless --debug."""
    debug = "--debug" in sys.argv
    # dbt starts multiprocessing's resource tracker; since we leave with os._exit (below) it would
    # warn about semaphores dbt never released. The filter reaches the tracker through its env.
    os.environ.setdefault("PYTHONWARNINGS", "ignore:resource_tracker:UserWarning")
    # Files osteoreg creates are its user's only: the warehouse's write-ahead log, dbt's target
    # folder and temporary spills hold raw rows and identity (PHI) and are created by DuckDB and
    # dbt with the process umask. The analysts' snapshot is made readable on purpose (0444).
    os.umask(0o077)
    # Great Expectations probes for pyspark on import; where the cluster extra installed it,
    # pyspark warns about pandas 3 on stderr of every `osteoreg check` and `run`. osteoreg's
    # Spark builds go through dbt-spark, and its checks never use Spark.
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
    code = 0
    try:
        app()  # click's standalone mode prints usage errors itself and exits through SystemExit
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    except OsteoregError as error:
        if debug:
            raise
        err_console.print(f"[red]error:[/red] {for_terminal(error)}", highlight=False, soft_wrap=True)
        code = error.exit_code
    except duckdb.Error as error:
        # A warehouse older than the code (e.g. marts built before a column was added) surfaces
        # as a database error; say so in one sentence rather than a traceback.
        if debug:
            raise
        first = for_terminal(str(error).splitlines()[0])
        err_console.print(f"[red]error:[/red] the warehouse does not match what this command expects ({first}); "
                          "run `osteoreg build` (or `osteoreg run`) to bring it up to date.", highlight=False,
                          soft_wrap=True)
        code = 1
    except KeyboardInterrupt:
        err_console.print("interrupted")
        code = 130
    _exit(code)


def _exit(code: int) -> None:
    """Leave without interpreter teardown: DuckDB's bindings report spurious "leaked instance"
    warnings at shutdown once dbt has run in the process; all our work is committed by now."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
