"""`osteoreg export --restricted`: row-level marts out of the restricted snapshot, audited.

The report bundle carries aggregates only; a study that needs row-level facts asks for them by
name. Each export writes one CSV per table from the published snapshot (never the warehouse
being built) and records who asked (the OS user), when, what and how many rows in
`audit.restricted_exports` of the warehouse, before the command returns. The warehouse is held
open for writing while the files are written, so an export cannot leave files without a record.
"""
from __future__ import annotations

import getpass
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from .. import warehouse
from ..errors import UsageError
from ..publish import snapshot_path
from .policy import ROW_LEVEL_MARTS

RESTRICTED_TABLES = tuple(sorted(f"marts.{name}" for name in ROW_LEVEL_MARTS)) + ("scoring.risk_scores",)
WARNING = ("row-level data: these files hold one row per patient, scan or result under pseudonymous keys; "
           "they are restricted and must not be shared outside the approved study")


@dataclass(frozen=True)
class ExportResult:
    export_id: int
    os_user: str
    files: dict[str, Path]        # schema.table -> CSV
    rows: int
    warning: str = WARNING


def _qualified(name: str) -> str:
    name = name.strip().lower()
    qualified = name if "." in name else (f"scoring.{name}" if name == "risk_scores" else f"marts.{name}")
    if qualified not in RESTRICTED_TABLES:
        raise UsageError(f"{name!r} is not a row-level table that can be exported; choose from "
                         f"{', '.join(RESTRICTED_TABLES)} (aggregates are in `osteoreg report`).")
    return qualified


def export_restricted(warehouse_path: Path, tables: list[str], out_dir: Path) -> ExportResult:
    """Write the named row-level tables as CSV into `out_dir` and record the export."""
    if not tables:
        raise UsageError("Name at least one table to export, e.g. `osteoreg export --restricted fct_lab_result --out DIR`.")
    chosen = list(dict.fromkeys(_qualified(name) for name in tables))
    warehouse_path = Path(warehouse_path).absolute()
    snapshot = snapshot_path(warehouse_path)
    if not snapshot.exists():
        raise UsageError(f"No published snapshot {snapshot} exists yet; `osteoreg build` publishes one.")
    out_dir = Path(out_dir).absolute()
    user = getpass.getuser()
    warehouse.upgrade(warehouse_path)   # the audit table arrives with its migration
    with warehouse.session(warehouse_path) as ledger:
        with warehouse.session(snapshot, read_only=True) as conn:
            present = {f"{s}.{t}" for s, t in conn.execute(
                "SELECT table_schema, table_name FROM information_schema.tables").fetchall()}
            missing = [name for name in chosen if name not in present]
            if missing:
                raise UsageError(f"The snapshot has no {', '.join(missing)}; run `osteoreg build` (and `score`) first.")
            out_dir.mkdir(parents=True, exist_ok=True)
            files, rows = {}, 0
            for name in chosen:
                target = out_dir / f"{name.split('.', 1)[1]}.csv"
                escaped = str(target).replace("'", "''")
                conn.execute(f"COPY (SELECT * FROM {name}) TO '{escaped}' (HEADER, DELIMITER ',')").fetchall()
                rows += conn.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0]
                files[name] = target
            published = conn.execute("SELECT max(published_at) FROM main.snapshot_info").fetchall()[0][0] \
                if "main.snapshot_info" in present else None
        export_id = ledger.execute(
            "INSERT INTO audit.restricted_exports (os_user, requested_at, tables, out_dir, rows_written, "
            "snapshot_published_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING export_id",
            [user, datetime.now(timezone.utc), json.dumps(chosen), str(out_dir), rows, published]).fetchall()[0][0]
    return ExportResult(export_id=export_id, os_user=user, files=files, rows=rows)
