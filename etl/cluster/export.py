"""`osteoreg export-raw DIR`: the raw layer as Parquet, where Spark reads it (contract section 8).

Layout, one folder per relation the dbt sources name:

    DIR/raw/<table>/load_id=<N>/*.parquet      one partition per load, appended by later exports
    DIR/raw/<table>/_columns.json              the columns and their DuckDB types (an engine
                                               declares the table from it, even when empty)
    DIR/identity/patient_map/, patient_references/, DIR/audit/loads/   rewritten whole each time
    DIR/_loads/<N>                             written once load N is complete in every table

Nothing identifying leaves the warehouse: every patient reference is replaced by the
pseudonymous key of its person (sql/person_keys.sql), accession and resource ids by a hash
salted with that key, file paths by a hash; the free-text `extra` JSON and the ingest-internal
row hash are left out. The identity tables exported map keys to themselves, so the staging
models resolve patients exactly as they do in DuckDB. A load is exported once: a later export
writes only loads without their `_loads` marker (an interrupted one is removed and rewritten).
"""
from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from ..errors import OsteoregError
from ..sqltext import identifier, literal
from ..warehouse import session

RAW_TABLES = ("patients", "lab_results", "dxa_results", "fractures")
# Columns that stay in the warehouse: free text as sent, and ingest's duplicate hash.
LEFT_OUT = frozenset({"extra", "row_hash"})
SALTED_IDS = frozenset({"accession_id", "result_id"})
_SQL = Path(__file__).with_name("sql")


@dataclass(frozen=True)
class ExportResult:
    directory: Path
    new_loads: tuple[int, ...]
    rows: int              # raw rows written for the new loads


def default_export_dir(warehouse_path: Path) -> Path:
    """`<stem>.raw/` beside the warehouse: where `build --target spark|postgres` exports to."""
    warehouse_path = Path(warehouse_path)
    return warehouse_path.with_name(f"{warehouse_path.stem}.raw")


def exported_loads(directory: Path) -> set[int]:
    marks = Path(directory) / "_loads"
    return {int(p.name) for p in marks.iterdir() if p.name.isdigit()} if marks.is_dir() else set()


def raw_columns(directory: Path, table: str) -> list[tuple[str, str]]:
    """(name, DuckDB type) of an exported raw table, `load_id` included."""
    return [tuple(pair) for pair in json.loads((Path(directory) / "raw" / table / "_columns.json").read_text())]


def _exported_expression(column: str, data_type: str) -> str | None:
    quoted = identifier(column)
    if column in LEFT_OUT:
        return None
    if column == "patient_id":
        return f"person_keys.patient_key AS {quoted}"
    if column in SALTED_IDS:
        return f"sha256(person_keys.patient_key || '|' || delivered.{quoted}) AS {quoted}"
    if column == "source_file":
        return f"'sha256:' || left(sha256(delivered.{quoted}), 16) AS {quoted}"
    return f"delivered.{quoted}"


def export_raw(warehouse_path: Path, directory: Path) -> ExportResult:
    """Append the loads not yet exported to `directory`; rewrite identity keys and the ledger."""
    directory = Path(directory).absolute()
    directory.mkdir(parents=True, exist_ok=True)
    done = exported_loads(directory)
    staging = directory / f".partial-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    with session(Path(warehouse_path), read_only=True) as conn:
        loaded = [row[0] for row in conn.execute(
            "SELECT load_id FROM audit.loads WHERE status = 'loaded' ORDER BY load_id").fetchall()]
        new = [load for load in loaded if load not in done]
        conn.execute((_SQL / "person_keys.sql").read_text()).fetchall()
        rows = 0
        for table in RAW_TABLES:
            columns = conn.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = 'raw' AND table_name = ? ORDER BY ordinal_position", [table]).fetchall()
            if not columns:
                raise OsteoregError(f"The warehouse {warehouse_path} has no raw.{table}; run `osteoreg init` first.")
            kept = [(name, kind) for name, kind in columns if _exported_expression(name, kind)]
            target = directory / "raw" / table
            target.mkdir(parents=True, exist_ok=True)
            (target / "_columns.json").write_text(json.dumps(kept))
            if not new:
                continue
            select = ", ".join(_exported_expression(name, kind) for name, kind in kept)
            query = (f"SELECT {select} FROM raw.{identifier(table)} AS delivered "
                     "LEFT JOIN person_keys ON person_keys.reference = delivered.patient_id "
                     f"WHERE delivered.load_id IN ({', '.join(str(load) for load in new)})")
            rows += conn.execute(f"SELECT count(*) FROM ({query})").fetchall()[0][0]
            (staging / "raw").mkdir(parents=True, exist_ok=True)
            conn.execute(f"COPY ({query}) TO {literal(staging / 'raw' / table)} "
                         "(FORMAT parquet, PARTITION_BY (load_id))").fetchall()
        _write_whole(conn, directory, staging)
    for load in new:
        for table in RAW_TABLES:
            final = directory / "raw" / table / f"load_id={load}"
            shutil.rmtree(final, ignore_errors=True)   # left by an export that was interrupted
            written = staging / "raw" / table / f"load_id={load}"
            if written.exists():
                written.rename(final)
    marks = directory / "_loads"
    marks.mkdir(exist_ok=True)
    for load in new:
        (marks / str(load)).write_text("")
    shutil.rmtree(staging, ignore_errors=True)
    return ExportResult(directory=directory, new_loads=tuple(new), rows=rows)


_WHOLE = {
    ("identity", "patient_map"): "SELECT DISTINCT patient_key AS patient_id, patient_key FROM person_keys",
    ("identity", "patient_references"):
        "SELECT DISTINCT patient_key AS patient_id, patient_key AS person_id FROM person_keys",
    ("audit", "loads"): "SELECT load_id, status FROM audit.loads",
}


def _write_whole(conn, directory: Path, staging: Path) -> None:
    """Identity keys and the ledger: small, and changed by re-resolution, so rewritten whole."""
    for (schema, table), query in _WHOLE.items():
        written = staging / schema / table
        written.mkdir(parents=True, exist_ok=True)
        conn.execute(f"COPY ({query}) TO {literal(written / 'data.parquet')} (FORMAT parquet)").fetchall()
        kinds = conn.execute(f"DESCRIBE {query}").fetchall()
        (written / "_columns.json").write_text(json.dumps([[row[0], row[1]] for row in kinds]))
        final = directory / schema / table
        final.parent.mkdir(parents=True, exist_ok=True)
        old = final.with_name(f".old-{table}-{os.getpid()}")
        if final.exists():
            final.rename(old)
        written.rename(final)
        shutil.rmtree(old, ignore_errors=True)


def whole_columns(directory: Path, schema: str, table: str) -> list[tuple[str, str]]:
    return [tuple(pair) for pair in json.loads((Path(directory) / schema / table / "_columns.json").read_text())]


__all__ = ["ExportResult", "RAW_TABLES", "default_export_dir", "export_raw", "exported_loads",
           "raw_columns", "whole_columns"]
