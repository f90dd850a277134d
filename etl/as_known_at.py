"""`osteoreg build --as-known-at TIMESTAMP`: the registry as it was known at a time (contract 9).

A report published on a date must be reproducible later, corrections that arrived afterwards
notwithstanding. This copies the raw layer, the identity map and the load ledger of the loads
that had finished by then (status `loaded`, `finished_at` <= the time) into a warehouse file of
its own beside the warehouse, runs a full build there with the rules given, and publishes its
snapshot beside it (`<stem>.as-known-at-<time>.snapshot.duckdb`). The warehouse itself is only read.

Identity is the map as it stands now, restricted to the references first seen by then: a
reference re-resolved later (namespaces declared one afterwards) keeps its current key.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from .build import BuildResult, build
from .errors import UsageError
from .publish import PublishResult, publish_snapshot
from .sqltext import literal
from .warehouse import ensure_current, session, upgrade

_SOURCE = "known"
# (schema.table, the rows the copy keeps); `{loads}` is the list of loads finished by then.
_COPIED = [
    ("audit.loads", "load_id IN ({loads})"),
    ("audit.quarantine", "load_id IN ({loads})"),
    ("raw.patients", "load_id IN ({loads})"),
    ("raw.lab_results", "load_id IN ({loads})"),
    ("raw.dxa_results", "load_id IN ({loads})"),
    ("raw.fractures", "load_id IN ({loads})"),
    ("identity.patient_map", "first_load_id IN ({loads})"),
    ("identity.patient_references", "patient_id IN (SELECT patient_id FROM {source}.identity.patient_map "
                                    "WHERE first_load_id IN ({loads}))"),
    ("identity.patient_identifiers", "first_load_id IN ({loads})"),
    ("identity.namespaces", "first_load_id IN ({loads}) OR first_load_id IS NULL"),
]


@dataclass
class AsKnownAtResult:
    as_known_at: datetime
    warehouse: Path            # the separate warehouse file the marts were built in
    loads: int                 # the loads finished by then
    max_load_id: int
    build: BuildResult
    publish: PublishResult


def as_known_at_path(warehouse_path: Path, when: datetime) -> Path:
    warehouse_path = Path(warehouse_path)
    return warehouse_path.with_name(f"{warehouse_path.stem}.as-known-at-{when:%Y%m%dT%H%M%S}.duckdb")


def parse_time(text: str) -> datetime:
    """An ISO 8601 date or time (`2026-12-01`, `2026-12-01T08:30:00`) as the load ledger's local time."""
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(f"--as-known-at {text!r} is not an ISO 8601 date or time (e.g. 2026-12-01T08:30:00).") from None
    if len(text.strip()) == 10:  # a date alone: as known at the end of that day
        when = when.replace(hour=23, minute=59, second=59, microsecond=999999)
    return when.replace(tzinfo=None) if when.tzinfo is None else when.astimezone().replace(tzinfo=None)


def build_as_known_at(warehouse_path: Path, when: datetime, vars: dict | None = None,
                      progress=None) -> AsKnownAtResult:
    """Copy the loads finished by `when` into their own warehouse, build it whole and publish it."""
    warehouse_path = Path(warehouse_path).absolute()
    ensure_current(warehouse_path)
    with session(warehouse_path, read_only=True) as conn:
        loads = [row[0] for row in conn.execute(
            "SELECT load_id FROM audit.loads WHERE status = 'loaded' AND finished_at <= ? ORDER BY load_id",
            [when]).fetchall()]
    if not loads:
        raise UsageError(f"No load of {warehouse_path.name} had finished by {when:%Y-%m-%d %H:%M:%S}, so there is "
                         "nothing to build as known then.")
    target = as_known_at_path(warehouse_path, when)
    for stale in (target, target.with_name(target.name + ".wal")):
        stale.unlink(missing_ok=True)
    upgrade(target)
    listed = ", ".join(str(load_id) for load_id in loads)
    with session(target) as conn:
        conn.execute(f"ATTACH {literal(str(warehouse_path))} AS {_SOURCE} (READ_ONLY)")
        conn.begin()
        for table, keep in _COPIED:
            conn.execute(f"INSERT INTO {table} BY NAME SELECT * FROM {_SOURCE}.{table} "
                         f"WHERE {keep.format(loads=listed, source=_SOURCE)}")
        conn.commit()
        conn.execute(f"DETACH {_SOURCE}")
    built = build(target, vars=vars, progress=progress, full_refresh=True)
    published = publish_snapshot(target, dictionary=False)
    return AsKnownAtResult(as_known_at=when, warehouse=target, loads=len(loads), max_load_id=loads[-1],
                           build=built, publish=published)


__all__ = ["AsKnownAtResult", "as_known_at_path", "build_as_known_at", "parse_time"]
