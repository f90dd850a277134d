"""The published snapshot: what analysts open, so they never meet the ETL's write lock.

DuckDB allows one writing process per file and a reader cannot open a file another process
writes. After a successful `build` or `run` the ETL copies the analyst-facing schemas into a
separate file beside the warehouse, `<stem>.snapshot.duckdb`. It is written under a temporary
name and renamed over the old one (`os.replace`, atomic on one file system), so a reader opens
either the previous complete snapshot or the new complete one, never a half-written file; a
reader that already has the old file open keeps reading it until it closes.

What is published: every table and view of `marts`, `scoring` and `audit`, as tables (a
snapshot has nothing to recompute), except `audit.quarantine.payload` (the rejected rows as
sent, which may hold identifiers). `raw`, `identity`, `staging`, `intermediate` never leave the
warehouse. The data dictionary (dbt docs, `etl.docs`) is published beside it.
`main.snapshot_info` says when and from which schema revision it was published; schema `analyses`
holds the studies' analyses computed from the copied marts (`etl.analyses`, aggregates only). The prevalence
marts get their secondary suppression here (`etl.disclosure`), as it needs all of them at once;
the row-level marts are copied as they are, as the snapshot is restricted.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import duckdb

from . import __version__, warehouse
from .analyses.snapshot import write_tables as write_analysis_tables
from .disclosure.prevalence import protect_published_prevalence
from .docs import generate_data_dictionary
from .errors import OsteoregError, WarehouseLockedError
from .sqltext import identifier, literal, literal_list

PUBLISHED_SCHEMAS = ("marts", "scoring", "audit")
# Columns that stay in the warehouse: (schema, table, column).
WITHHELD_COLUMNS = frozenset({("audit", "quarantine", "payload")})
SNAPSHOT_INFO = "main.snapshot_info"
_SOURCE = "published_source"


@dataclass(frozen=True)
class PublishResult:
    path: Path
    tables: tuple[str, ...]          # schema.table, in the order copied
    rows: int                        # rows copied over all tables
    seconds: float


def snapshot_path(warehouse_path: Path) -> Path:
    """`<warehouse dir>/<stem>.snapshot.duckdb`: beside the warehouse, so both move together."""
    warehouse_path = Path(warehouse_path)
    return warehouse_path.with_name(f"{warehouse_path.stem}.snapshot.duckdb")


# How source file paths appear in the snapshot ($OSTEOREG_PUBLISHED_PATHS): `name` (the default)
# keeps the file name and drops the folders, which name hospitals, users and shares; `hash` shows
# a 16-digit hash instead, for senders whose file names carry a patient id or name; `full` keeps
# the path as sent (a registry that publishes to its own staff only).
PUBLISHED_PATHS = ("name", "hash", "full")


def published_paths() -> str:
    chosen = os.environ.get("OSTEOREG_PUBLISHED_PATHS", "name").strip().lower()
    if chosen not in PUBLISHED_PATHS:
        raise OsteoregError(f"OSTEOREG_PUBLISHED_PATHS must be one of {', '.join(PUBLISHED_PATHS)}, not {chosen!r}.")
    return chosen


def _path_expression(column: str) -> str:
    mode = published_paths()
    if mode == "full":
        return column
    if mode == "hash":
        return f"'sha256:' || left(sha256({column}), 16)"
    return f"regexp_extract({column}, '[^/\\\\]*$')"


def _published_column(schema: str, table: str, column: str) -> str:
    """A column as the snapshot shows it: ledger paths reduced (also inside the ledger's
    messages, which start with the path), everything else as it is."""
    quoted = identifier(column)
    if (schema, table) == ("audit", "loads") and column == "source_path":
        return f"{_path_expression(quoted)} AS {quoted}"
    if (schema, table) == ("audit", "loads") and column == "message" and published_paths() != "full":
        return f"replace({quoted}, source_path, {_path_expression('source_path')}) AS {quoted}"
    return quoted


def _published_relations(conn) -> list[tuple[str, str, list[str]]]:
    """(schema, table, kept columns) of every table and view in the published schemas."""
    schemas = literal_list(PUBLISHED_SCHEMAS)
    rows = conn.execute(
        f"SELECT table_schema, table_name, column_name FROM information_schema.columns "
        f"WHERE table_catalog = {literal(_SOURCE)} AND table_schema IN ({schemas}) "
        "ORDER BY table_schema, table_name, ordinal_position").fetchall()
    relations: dict[tuple[str, str], list[str]] = {}
    for schema, table, column in rows:
        kept = relations.setdefault((schema, table), [])
        if (schema, table, column) not in WITHHELD_COLUMNS:
            kept.append(column)
    order = {schema: i for i, schema in enumerate(PUBLISHED_SCHEMAS)}
    return [(schema, table, columns) for (schema, table), columns
            in sorted(relations.items(), key=lambda item: (order[item[0][0]], item[0][1]))]


def publish(warehouse_path: Path, dictionary: bool = True, secondary: bool = True) -> Path:
    """Copy the analyst-facing schemas to the snapshot file atomically; returns its path.

    With `dictionary`, the data dictionary (dbt docs) is published beside it too, which needs
    the warehouse free of other writers, as it is right after `build` or `run`.
    """
    return publish_snapshot(warehouse_path, dictionary, secondary).path


def publish_snapshot(warehouse_path: Path, dictionary: bool = True, secondary: bool = True) -> PublishResult:
    """`publish` with what was copied, for callers that report it (`secondary=False`: only the
    disclosure attacker's test, which must break such a snapshot)."""
    warehouse_path = Path(warehouse_path).absolute()
    if not warehouse_path.exists():
        raise OsteoregError(f"The warehouse {warehouse_path} does not exist, so there is nothing to publish.")
    target = snapshot_path(warehouse_path)
    partial = target.with_name(f"{target.name}.partial-{os.getpid()}")
    started = time.perf_counter()
    _remove_stale_partials(target)
    _remove(partial)
    try:
        tables, rows = _write_snapshot(warehouse_path, partial, secondary)
        os.chmod(partial, 0o444)  # analysts read it; only the next publication replaces it
        os.replace(partial, target)
    finally:
        _remove(partial)
    if dictionary:
        generate_data_dictionary(warehouse_path)
    return PublishResult(path=target, tables=tuple(tables), rows=rows, seconds=time.perf_counter() - started)


def _write_snapshot(warehouse_path: Path, partial: Path, secondary: bool = True) -> tuple[list[str], int]:
    revision = warehouse.current_revision(warehouse_path)
    with warehouse.session(partial) as conn:
        try:
            conn.execute(f"ATTACH {literal(warehouse_path)} AS {_SOURCE} (READ_ONLY)").fetchall()
        except duckdb.IOException as error:
            raise WarehouseLockedError(f"The warehouse {warehouse_path} is being written by another process, so "
                                       "the snapshot cannot be published now; publish after that process ends.") from error
        relations = _published_relations(conn)
        if not any(schema == "marts" for schema, _, _ in relations):
            raise OsteoregError(f"The warehouse {warehouse_path} has no marts yet; run `osteoreg build` "
                                "before publishing.")
        conn.begin()
        names, rows = [], 0
        for schema in PUBLISHED_SCHEMAS:
            conn.execute(f"CREATE SCHEMA {schema}").fetchall()
        for schema, table, columns in relations:
            select = ", ".join(_published_column(schema, table, column) for column in columns)
            conn.execute(f"CREATE TABLE {schema}.{identifier(table)} AS SELECT {select} "
                         f"FROM {_SOURCE}.{schema}.{identifier(table)}").fetchall()
            rows += conn.execute(f"SELECT count(*) FROM {schema}.{identifier(table)}").fetchall()[0][0]
            names.append(f"{schema}.{table}")
        protect_published_prevalence(conn, secondary=secondary)  # secondary suppression (contract 6)
        names += write_analysis_tables(conn)  # the studies' analyses, aggregates only (etl/analyses)
        # contract 9: the highest load id, the rules in effect (marts.rules_in_effect, copied
        # above) and the osteoreg and dbt versions the marts were built with
        built = conn.execute("SELECT max(max_load_id), max(osteoreg_version), max(dbt_version), max(built_at) "
                             "FROM marts.rules_in_effect").fetchall()[0] \
            if "marts.rules_in_effect" in names else (None, None, None, None)
        conn.execute(f"CREATE TABLE {SNAPSHOT_INFO} (published_at TIMESTAMPTZ, warehouse VARCHAR, "
                     "schema_revision VARCHAR, osteoreg_version VARCHAR, tables INTEGER, rows BIGINT, "
                     "max_load_id BIGINT, built_with_osteoreg VARCHAR, built_with_dbt VARCHAR, "
                     "built_at TIMESTAMP)").fetchall()
        conn.execute(f"INSERT INTO {SNAPSHOT_INFO} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     [datetime.now(timezone.utc), warehouse_path.name, revision, __version__,
                      len(names), rows, *built]).fetchall()
        conn.commit()
        conn.execute(f"DETACH {_SOURCE}").fetchall()
        conn.execute("CHECKPOINT").fetchall()  # everything in the file itself, no WAL beside it
    return names, rows


def _remove_stale_partials(target: Path) -> None:
    """Half-written snapshots of publishes that were killed (their process is gone), so they do
    not pile up beside the warehouse; a partial of a publish still running is left alone."""
    for leftover in target.parent.glob(f"{target.name}.partial-*"):
        pid = leftover.name.rsplit("-", 1)[-1].removesuffix(".wal")
        if not pid.isdigit() or int(pid) == os.getpid() or _running(int(pid)):
            continue
        if leftover.exists():
            os.chmod(leftover, 0o644)
            leftover.unlink(missing_ok=True)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove(path: Path) -> None:
    for leftover in (path, path.with_name(path.name + ".wal")):
        if leftover.exists():
            os.chmod(leftover, 0o644)
            leftover.unlink()


def open_snapshot(warehouse_path: Path):
    """A read-only connection to the published snapshot (a context manager that closes it)."""
    path = snapshot_path(Path(warehouse_path))
    if not path.exists():
        raise OsteoregError(f"No published snapshot {path} exists yet; `osteoreg build` or `osteoreg run` "
                            "publishes one when it succeeds.")
    return warehouse.session(path, read_only=True)


__all__ = ["PUBLISHED_SCHEMAS", "PublishResult", "open_snapshot", "publish", "publish_snapshot", "snapshot_path"]
