"""Terminology for ingestion, read from the dbt seeds: the one copy of codes, units and statuses.

Ingestion needs a few of the seed tables before dbt has ever run (to decide what is tracked and
which units convert); it reads the same CSV files dbt loads, straight into DuckDB temp tables.
"""
from __future__ import annotations

import duckdb

from .paths import SEEDS_DIR

# Seeds ingestion uses, with the temp table each becomes. All columns are read as text, then
# typed here where a number is needed, so the seed files stay the only statement of each fact.
_SEEDS = {
    "analyte_codes": "seed_analyte_codes",
    "unit_aliases": "seed_unit_aliases",
    "unit_conversions": "seed_unit_conversions",
    "dxa_codes": "seed_dxa_codes",
    "result_statuses": "seed_result_statuses",
    "quarantine_reasons": "seed_quarantine_reasons",
}


def seed_path(name: str):
    return SEEDS_DIR / f"{name}.csv"


def load_into(conn: duckdb.DuckDBPyConnection) -> None:
    """Create the seed temp tables on `conn` (idempotent per connection)."""
    for seed, table in _SEEDS.items():
        conn.execute(
            f"CREATE OR REPLACE TEMP TABLE {table} AS "
            f"SELECT * FROM read_csv(?, header = true, all_varchar = true)",
            [str(seed_path(seed))],
        )
    # The normalised unit spelling is the lookup key: lower case, no blanks (`MG / DL` = `mg/dl`).
    conn.execute(
        "CREATE OR REPLACE TEMP TABLE seed_unit_lookup AS "
        "SELECT lower(replace(trim(unit_alias), ' ', '')) AS unit_key, unit FROM seed_unit_aliases "
        "UNION SELECT lower(replace(trim(unit), ' ', '')), unit FROM seed_unit_conversions"
    )


def quarantine_reasons() -> list[str]:
    """Reason codes in the order the seed lists them (documentation and tests use this list)."""
    rows = duckdb.sql(
        f"SELECT reason FROM read_csv('{seed_path('quarantine_reasons')}', header = true, all_varchar = true)"
    ).fetchall()
    return [r[0] for r in rows]
