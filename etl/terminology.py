"""Where the dbt seeds are: the one copy of codes, units, statuses and reason codes.

Ingestion needs some of them before dbt has ever run (what is tracked, which units convert); it
reads the same CSV files dbt loads (`etl.ingest.seed_lookup`).
"""
from __future__ import annotations

import duckdb

from .paths import SEEDS_DIR


def seed_path(name: str):
    return SEEDS_DIR / f"{name}.csv"


def quarantine_reasons() -> list[str]:
    """Reason codes in the order the seed lists them (documentation and tests use this list)."""
    rows = duckdb.sql(
        f"SELECT reason FROM read_csv('{seed_path('quarantine_reasons')}', header = true, all_varchar = true)"
    ).fetchall()
    return [r[0] for r in rows]
