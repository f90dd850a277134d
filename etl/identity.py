"""Pseudonymous patient keys: HMAC-SHA256 of the source patient id under a secret kept off the database.

The secret comes from $OSTEOREG_SECRET or from a file beside the warehouse, created once with
owner-only permissions. It never enters the database, so a copy of the warehouse (or of the
published snapshot) cannot be used to recompute keys from guessed patient ids.
Keys are computed once per source id and stored in `identity.patient_map`; changing the secret
later only affects ids seen for the first time after the change.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

import duckdb

from .errors import OsteoregError

KEY_HEX_CHARS = 16  # 64 bits: collision odds for 10M patients about 3e-6; short enough to read
_BLOCK = 64          # SHA-256 block size in bytes (RFC 2104)
MIN_SECRET_FILE_BYTES = 32  # 128 bits as hex; the file osteoreg writes holds 64 hex digits (256 bits)


def secret_path(warehouse_path: Path) -> Path:
    warehouse_path = Path(warehouse_path)
    return warehouse_path.with_name(warehouse_path.name + ".secret")


def load_secret(warehouse_path: Path) -> bytes:
    """The HMAC secret: $OSTEOREG_SECRET, else the file beside the warehouse (made on first use)."""
    from_env = os.environ.get("OSTEOREG_SECRET")
    if from_env is not None and from_env.strip():
        return from_env.encode("utf-8")
    if from_env is not None and from_env != "":
        raise OsteoregError("OSTEOREG_SECRET holds only white space; set it to a long random value or unset it "
                            "to use the secret file beside the warehouse.")
    path = secret_path(warehouse_path)
    if path.exists():
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            raise OsteoregError(f"The secret file {path} is readable by others (mode {mode:o}); run `chmod 600 {path}`.")
        secret = path.read_bytes().strip()
        if len(secret) < MIN_SECRET_FILE_BYTES:
            # An empty or short key makes the HMAC a plain hash anyone can recompute from guessed ids.
            raise OsteoregError(
                f"The secret file {path} holds {'nothing' if not secret else f'only {len(secret)} characters'}; "
                f"a key needs at least {MIN_SECRET_FILE_BYTES} (osteoreg writes 64 random hex digits), so restore "
                "it from your backup, or remove it before the first load to have a new one made.")
        return secret
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_hex(32))
    return path.read_bytes().strip()


def patient_key(secret: bytes, patient_id: str) -> str:
    """The reference implementation (tests check the SQL against it)."""
    return hmac.new(secret, patient_id.encode("utf-8"), hashlib.sha256).hexdigest()[:KEY_HEX_CHARS]


def _pads(secret: bytes) -> tuple[bytes, bytes]:
    key = hashlib.sha256(secret).digest() if len(secret) > _BLOCK else secret
    key = key.ljust(_BLOCK, b"\0")
    return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)


def assign_keys(conn: duckdb.DuckDBPyConnection, source_table: str, load_id: int, secret: bytes) -> int:
    """Give every patient id in `source_table` that has none yet a key; returns how many were added.

    HMAC is written out in SQL (RFC 2104: H(k^opad || H(k^ipad || m))) so a million new ids take
    about a second inside DuckDB instead of a Python loop.
    """
    inner, outer = _pads(secret)
    before = conn.execute("SELECT count(*) FROM identity.patient_map").fetchall()[0][0]
    conn.execute(
        f"""
        INSERT INTO identity.patient_map (patient_id, patient_key, first_load_id, created_at)
        SELECT patient_id,
               left(sha256($outer || unhex(sha256($inner || encode(patient_id)))), {KEY_HEX_CHARS}),
               $load_id, current_localtimestamp()
        FROM (SELECT DISTINCT patient_id FROM {source_table}) AS ids
        WHERE NOT EXISTS (SELECT 1 FROM identity.patient_map AS m WHERE m.patient_id = ids.patient_id)
        """,
        {"outer": outer, "inner": inner, "load_id": load_id},
    )
    return conn.execute("SELECT count(*) FROM identity.patient_map").fetchall()[0][0] - before
