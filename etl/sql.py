"""`osteoreg sql`: one read-only query against the published snapshot, as a table, CSV or JSON.

It reads the snapshot, never the warehouse, so it works while the ETL holds the write lock.
Three guards, from the friendliest: the statement's type is checked before it runs (a write
gets one sentence saying so); the connection is read-only (DuckDB itself refuses changes);
and file-system access is switched off (no `read_csv` of other files, no `COPY ... TO`).
"""
from __future__ import annotations

import csv
import datetime as dt
import decimal
import io
import json
import math
import re
import uuid
from pathlib import Path
from typing import Any, NamedTuple

from .errors import UsageError
from .publish import open_snapshot
from .textsafe import strip_controls

FORMATS = ("table", "csv", "json")


class QueryResult(NamedTuple):
    columns: list[str]
    rows: list[tuple]


def _statement_kind(statement) -> str:
    return str(statement.type).rsplit(".", 1)[-1]


def _statement_word(statement, kind: str) -> str:
    """The statement's own first keyword where DuckDB's type groups several (INSTALL and LOAD are
    both LOAD; FORCE INSTALL too), so the refusal names what the user wrote."""
    words = re.findall(r"[A-Za-z]+", re.sub(r"--[^\n]*|/\*.*?\*/", " ", statement.query, flags=re.S))
    if not words:
        return kind
    first = " ".join(words[:2]).upper() if words[0].upper() == "FORCE" else words[0].upper()
    if kind == "LOAD" and first in ("INSTALL", "FORCE INSTALL", "LOAD"):
        return first
    return kind


# Statement types that read: SELECT covers FROM-first queries, DESCRIBE, SHOW and SUMMARIZE.
READ_STATEMENTS = frozenset({"SELECT", "EXPLAIN", "PRAGMA", "CALL"})


def check_read_only(conn, sql: str) -> None:
    """Refuse, in one sentence, anything but a single reading statement."""
    import duckdb

    try:
        statements = conn.extract_statements(sql)
    except duckdb.Error as error:
        raise UsageError(f"The query cannot be parsed: {str(error).splitlines()[0]}") from error
    if not statements:
        raise UsageError("The query is empty; give one SELECT statement.")
    if len(statements) > 1:
        raise UsageError(f"`osteoreg sql` runs one statement at a time, and this text holds {len(statements)}.")
    kind = _statement_kind(statements[0])
    if kind not in READ_STATEMENTS:
        kind = _statement_word(statements[0], kind)
        raise UsageError(f"`osteoreg sql` is read-only and refuses this {kind} statement: the snapshot is "
                         "a published copy, and data changes only through `osteoreg ingest`, `build` or `run`.")


def query(warehouse_path: Path, sql: str) -> QueryResult:
    """Run one read-only statement on the warehouse's published snapshot; returns columns and rows."""
    import duckdb

    with open_snapshot(Path(warehouse_path)) as conn:
        check_read_only(conn, sql)
        conn.execute("SET enable_external_access = false").fetchall()
        conn.execute("SET lock_configuration = true").fetchall()
        try:
            cursor = conn.execute(sql)
            rows = cursor.fetchall()
        except duckdb.Error as error:
            raise UsageError(f"The query failed: {str(error).splitlines()[0]}") from error
        columns = [description[0] for description in cursor.description or []]
    return QueryResult(columns, rows)


def read_query_file(path: Path) -> str:
    """The text of a `--file`, or one sentence saying why it cannot be read."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"The query file {path} cannot be read ({error.__class__.__name__}).") from error


def _plain(value: Any) -> Any:
    """A value as JSON can carry it: dates as ISO text, decimals as numbers, NaN as null."""
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    return value


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    plain = _plain(value)
    if plain is None:
        return ""
    if isinstance(plain, (list, dict)):
        return json.dumps(plain)
    return str(plain)


def to_csv(columns: list[str], rows: list[tuple]) -> str:
    """RFC 4180 CSV with a header; empty fields for NULL."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows([_text(value) for value in row] for row in rows)
    return buffer.getvalue()


def to_json(columns: list[str], rows: list[tuple]) -> str:
    """A JSON array of objects, one per row, keyed by column name."""
    return json.dumps([{column: _plain(value) for column, value in zip(columns, row)} for row in rows],
                      ensure_ascii=False)


def to_table(columns: list[str], rows: list[tuple], max_rows: int | None = None) -> str:
    """A fixed-width text table (numbers right-aligned) and a line counting the rows."""
    shown = rows if max_rows is None else rows[:max_rows]
    # A table is for reading on a terminal: control characters a source sent (in a file name,
    # say) are shown as escapes, never obeyed; CSV and JSON keep the text exact.
    cells = [[strip_controls(_text(value)) for value in row] for row in shown]
    numeric = [all(isinstance(row[i], (int, float, decimal.Decimal)) and not isinstance(row[i], bool)
                   for row in shown if row[i] is not None) for i in range(len(columns))]
    widths = [max([len(column)] + [len(row[i]) for row in cells]) for i, column in enumerate(columns)]

    def line(values: list[str]) -> str:
        return "  ".join(value.rjust(width) if is_number else value.ljust(width)
                         for value, width, is_number in zip(values, widths, numeric)).rstrip()

    lines = [line(list(columns)), "  ".join("-" * width for width in widths)]
    lines += [line(row) for row in cells]
    count = f"{len(rows)} row{'' if len(rows) == 1 else 's'}"
    if len(shown) < len(rows):
        count += f" ({len(rows) - len(shown)} not shown)"
    lines.append(count)
    return "\n".join(lines) + "\n"


def render(result: QueryResult, fmt: str = "table", max_rows: int | None = None) -> str:
    """The result in one of FORMATS."""
    if fmt == "table":
        return to_table(result.columns, result.rows, max_rows)
    if fmt == "csv":
        return to_csv(result.columns, result.rows)
    if fmt == "json":
        return to_json(result.columns, result.rows)
    raise UsageError(f"Unknown output format {fmt!r}; choose one of {', '.join(FORMATS)}.")


__all__ = ["FORMATS", "QueryResult", "check_read_only", "query", "read_query_file", "render", "to_csv",
           "to_json", "to_table"]
