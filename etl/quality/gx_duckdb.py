"""The one fix Great Expectations needs to validate inside DuckDB.

GX's SQL engine opens a connection per metric query and closes it on leaving the `with` block,
before the caller has fetched the rows. DuckDB (through duckdb-engine) then returns nothing and
every metric fails with "list index out of range" (great_expectations issues #10738 and #11579).
Dialects listed in `_PERSISTED_CONNECTION_DIALECTS` keep one connection open for the engine's life
(and get a StaticPool), which is what DuckDB needs. We add `duckdb` to that list, here only.
"""
from __future__ import annotations


class _DialectName(str):
    """A dialect name GX can compare as a string and read `.value` from, like its GXSqlDialect."""

    @property
    def value(self) -> str:
        return str(self)


DUCKDB = _DialectName("duckdb")


def persist_duckdb_connections() -> None:
    """List `duckdb` among GX's persisted-connection dialects; idempotent."""
    from great_expectations.execution_engine import sqlalchemy_execution_engine as engine

    if DUCKDB not in engine._PERSISTED_CONNECTION_DIALECTS:
        engine._PERSISTED_CONNECTION_DIALECTS = (*engine._PERSISTED_CONNECTION_DIALECTS, DUCKDB)


def is_applied() -> bool:
    from great_expectations.execution_engine import sqlalchemy_execution_engine as engine

    return "duckdb" in engine._PERSISTED_CONNECTION_DIALECTS
