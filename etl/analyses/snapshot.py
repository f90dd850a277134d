"""The analyses' tables in the published snapshot (schema `analyses`), computed from the marts
the snapshot just received, so analysts and the report read them without recomputing."""
from __future__ import annotations

from . import results

SCHEMA = "analyses"


def write_tables(conn) -> list[str]:
    """Compute the analyses on `conn`'s marts and store each aggregate table; returns schema.table names."""
    computed = results.tables(results.run(conn))
    conn.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}").fetchall()
    names = []
    for name, frame in computed.items():
        conn.register("analysis_frame", frame)
        conn.execute(f'CREATE OR REPLACE TABLE {SCHEMA}."{name}" AS SELECT * FROM analysis_frame').fetchall()
        conn.unregister("analysis_frame")
        names.append(f"{SCHEMA}.{name}")
    return names
