"""The one place that opens the DuckDB warehouse: connections, the write lock and migrations.

DuckDB allows one writing process per file. A second writer gets an IOException naming the
holder's PID; we turn it into one sentence. Readers in other processes open read-only.
"""
from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from pathlib import Path

import duckdb

from .errors import OsteoregError, WarehouseLockedError
from .paths import MIGRATIONS_DIR

_LOCK_PID = re.compile(r"\(PID (\d+)\)")


def _locked_message(path: Path, error: Exception) -> str:
    pid = _LOCK_PID.search(str(error))
    holder = f"process {pid.group(1)}" if pid else "another process"
    return (f"The warehouse {path} is locked by {holder}; wait for that process to finish "
            "(DuckDB allows one writer per file).")


def memory_limit() -> str:
    """DuckDB's buffer limit for our connections: $OSTEOREG_MEMORY_LIMIT, default 2.5GB.

    DuckDB would otherwise take 80% of the machine; loading 20M rows fits well in 2.5 GB (it
    spills to disk beyond that), which keeps the whole process under the 4 GiB we promise.
    """
    return os.environ.get("OSTEOREG_MEMORY_LIMIT", "2.5GB")


def connect(path: Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the warehouse, turning DuckDB's lock and missing-file errors into one sentence."""
    path = Path(path)
    if read_only and not path.exists():
        raise OsteoregError(f"The warehouse {path} does not exist yet; run `osteoreg init` or `osteoreg ingest` first.")
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    created = not path.exists()
    try:
        conn = duckdb.connect(str(path), read_only=read_only)
    except duckdb.ConnectionException as error:
        # dbt (run in this process by `build`) may still hold the same file with its own settings.
        raise OsteoregError(f"The warehouse {path} is already open in this process with other settings "
                            f"({str(error).splitlines()[0]}).") from error
    except duckdb.IOException as error:
        if "lock" in str(error).lower():
            raise WarehouseLockedError(_locked_message(path, error)) from error
        raise OsteoregError(f"The warehouse {path} cannot be opened: {str(error).splitlines()[0]}") from error
    if not read_only:
        if created:
            owner_only(path)
        # A setting of the database instance; dbt's connection in this process shares it.
        conn.execute(f"SET memory_limit = '{memory_limit()}'")
    return conn


def owner_only(path: Path) -> None:
    """A warehouse holds the identity schema and raw rows (PHI): its file is made readable by
    its owner only (0600), whatever the umask. The published snapshot is the analysts' copy."""
    if path.exists():
        os.chmod(path, 0o600)


@contextlib.contextmanager
def session(path: Path, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection that is always closed, so the file lock is released as soon as work ends."""
    conn = connect(path, read_only=read_only)
    try:
        yield conn
    finally:
        conn.close()


def _alembic_config(connection):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


@contextlib.contextmanager
def _sqlalchemy_connection(path: Path):
    from sqlalchemy import create_engine
    from sqlalchemy.exc import OperationalError

    path.parent.mkdir(parents=True, exist_ok=True)
    created = not path.exists()
    engine = create_engine(f"duckdb:///{path}")
    try:
        try:
            conn = engine.connect()
        except OperationalError as error:
            if "lock" in str(error).lower():
                raise WarehouseLockedError(_locked_message(path, error)) from None
            raise
        if created:
            owner_only(path)
        try:
            yield conn
            conn.commit()
        finally:
            conn.close()
    finally:
        engine.dispose()


def upgrade(path: Path, revision: str = "head") -> str | None:
    """Bring the warehouse to `revision` (Alembic); safe to repeat. Returns the revision reached."""
    from alembic import command

    with _sqlalchemy_connection(Path(path)) as conn:
        command.upgrade(_alembic_config(conn), revision)
    return current_revision(path)


def downgrade(path: Path, revision: str = "base") -> str | None:
    from alembic import command

    with _sqlalchemy_connection(Path(path)) as conn:
        command.downgrade(_alembic_config(conn), revision)
    return current_revision(path)


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    config = _alembic_config(None)
    return ScriptDirectory.from_config(config).get_current_head()


def current_revision(path: Path) -> str | None:
    """The schema revision recorded in the warehouse, or None for a new or empty file."""
    path = Path(path)
    if not path.exists():
        return None
    with session(path) as conn:
        exists = conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'alembic_version'"
        ).fetchall()[0][0]
        if not exists:
            return None
        rows = conn.execute("SELECT version_num FROM alembic_version").fetchall()
    return rows[0][0] if rows else None


_REVISION = re.compile(r"^(down_revision|revision)\s*=\s*['\"]?([\w-]+|None)['\"]?", re.MULTILINE)


def head_from_files() -> str:
    """The newest revision, read from the migration files without importing Alembic (0.9 s saved
    on every no-op command); a test checks it against Alembic's own answer."""
    revisions, parents = set(), set()
    for script in MIGRATIONS_DIR.joinpath("versions").glob("*.py"):
        found = dict((k, v) for k, v in _REVISION.findall(script.read_text(encoding="utf-8")))
        if "revision" in found:
            revisions.add(found["revision"])
            parents.add(found.get("down_revision"))
    heads = revisions - parents
    if len(heads) != 1:
        return head_revision()
    return heads.pop()


def ensure_current(path: Path) -> str | None:
    """Upgrade only when needed, so commands that write stay cheap on an up-to-date warehouse."""
    head = head_from_files()
    if current_revision(path) != head:
        return upgrade(path)
    return head
