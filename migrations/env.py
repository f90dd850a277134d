"""Alembic environment for the DuckDB warehouse.

`osteoreg init` hands in an open SQLAlchemy connection through `config.attributes`; a developer
running `alembic -x warehouse=PATH upgrade head` gets an engine built here.
"""
from __future__ import annotations

from alembic import context
from alembic.ddl.impl import DefaultImpl
from sqlalchemy import create_engine


class DuckDBImpl(DefaultImpl):
    """Alembic knows no `duckdb` dialect until an implementation names it (duckdb-engine README)."""

    __dialect__ = "duckdb"
    transactional_ddl = True


def _run(connection) -> None:
    context.configure(connection=connection, target_metadata=None, transaction_per_migration=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    path = context.get_x_argument(as_dictionary=True).get("warehouse", "warehouse/osteoreg.duckdb")
    engine = create_engine(f"duckdb:///{path}")
    with engine.connect() as conn:
        _run(conn)
        conn.commit()
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("osteoreg migrations run online only (DuckDB has no offline SQL mode here).")
run_migrations_online()
