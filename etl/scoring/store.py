"""Model versions and scores in `scoring.*`, and model files that move a model between registries.

A version is the first 16 hex digits of the SHA-256 of the canonical parameters JSON (floats
rounded to 12 significant digits first, so last-bit noise of a refit on the same data cannot make
a new version); the rounded parameters are what is stored and applied, so two registries holding
the same file compute the same probabilities.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from .. import warehouse
from ..errors import UsageError
from .sql import input_sql, inputs_hash_select, scoring_select

FILE_FORMAT = "osteoreg-model"
FILE_FORMAT_VERSION = 1
SIGNIFICANT_DIGITS = 12
VERSION_HEX_DIGITS = 16


def canonical(value):
    """The parameters as stored: floats rounded to 12 significant digits, tuples as lists."""
    if isinstance(value, float):
        if not math.isfinite(value) or value == 0.0:
            return value
        return float(f"{value:.{SIGNIFICANT_DIGITS}g}")
    if isinstance(value, dict):
        return {str(key): canonical(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [canonical(item) for item in value]
    if isinstance(value, np.generic):
        return canonical(value.item())
    return value


def _json(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)


def version_of(parameters: dict) -> str:
    return hashlib.sha256(_json(canonical(parameters)).encode("utf-8")).hexdigest()[:VERSION_HEX_DIGITS]


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)   # scoring timestamps are UTC


@dataclass
class StoredModel:
    name: str
    version: str
    parameters: dict
    metrics: dict | None
    card: dict | None
    fingerprint: dict | None
    origin: str                   # defined / fitted / imported
    created_at: datetime | None = None
    is_current: bool = False


def _nan_to_none(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _nan_to_none(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_nan_to_none(item) for item in value]
    return value


_COLUMNS = ("model_name, model_version, parameters, metrics, model_card, training_fingerprint, origin, "
            "created_at, is_current")


def _from_row(row) -> StoredModel:
    loads = lambda text: None if text is None else json.loads(text)  # noqa: E731
    return StoredModel(name=row[0], version=row[1], parameters=loads(row[2]), metrics=loads(row[3]),
                       card=loads(row[4]), fingerprint=loads(row[5]), origin=row[6], created_at=row[7],
                       is_current=bool(row[8]))


def current(conn, name: str) -> StoredModel | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM scoring.models WHERE model_name = $name AND is_current",
                       {"name": name}).fetchall()
    return _from_row(row[0]) if row else None


def get(conn, name: str, version: str) -> StoredModel | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM scoring.models WHERE model_name = $name AND model_version = $version",
                       {"name": name, "version": version}).fetchall()
    return _from_row(row[0]) if row else None


def versions(conn, name: str) -> list[StoredModel]:
    rows = conn.execute(f"SELECT {_COLUMNS} FROM scoring.models WHERE model_name = $name ORDER BY created_at",
                        {"name": name}).fetchall()
    return [_from_row(row) for row in rows]


def make_current(conn, name: str, version: str) -> None:
    conn.execute("UPDATE scoring.models SET is_current = (model_version = $version) WHERE model_name = $name",
                 {"name": name, "version": version}).fetchall()


def save(conn, model: StoredModel) -> tuple[StoredModel, bool]:
    """Store the version (unless it exists) and make it current; True when it is new."""
    existing = get(conn, model.name, model.version)
    if existing is None:
        model.created_at = model.created_at or _now()
        conn.execute(
            "INSERT INTO scoring.models (model_name, model_version, created_at, parameters, metrics, model_card, "
            "training_fingerprint, origin, is_current) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, false)",
            [model.name, model.version, model.created_at, _json(model.parameters),
             None if model.metrics is None else _json(_nan_to_none(model.metrics)),
             None if model.card is None else _json(model.card),
             None if model.fingerprint is None else _json(model.fingerprint), model.origin]).fetchall()
    make_current(conn, model.name, model.version)
    stored = get(conn, model.name, model.version)
    return stored, existing is None


def update_evaluation(conn, name: str, version: str, metrics: dict, fingerprint: dict) -> None:
    """Re-validation of an unchanged version (a fixed model on newer data) replaces its metrics."""
    conn.execute("UPDATE scoring.models SET metrics = $metrics, training_fingerprint = $fingerprint "
                 "WHERE model_name = $name AND model_version = $version",
                 {"metrics": _json(_nan_to_none(metrics)), "fingerprint": _json(fingerprint),
                  "name": name, "version": version}).fetchall()


# DuckDB's buffer limit while scoring (see bulk_writes); a lower warehouse limit is kept.
SCORING_MEMORY_LIMIT_MIB = 768
_UNITS = {"bytes": 1, "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40,
          "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12}


def _bytes(setting: str) -> float:
    """DuckDB's memory_limit text ('2.3 GiB', '768.0 MiB') in bytes; unknown text: no limit."""
    number, _, unit = str(setting).strip().partition(" ")
    try:
        return float(number) * _UNITS[unit.strip().lower() or "bytes"]
    except (KeyError, ValueError):
        return float("inf")


@contextlib.contextmanager
def bulk_writes(conn) -> Iterator[None]:
    """DuckDB settings for writing millions of score rows, restored afterwards (they are the
    database instance's, which a dbt connection in this process may share). Measured with
    benchmarks/bench_score.py (2M assessments, 2 cores):

    - `preserve_insertion_order = false`: no table here has a meaningful row order (readers
      sort or join), and without it DuckDB writes row groups in parallel (5.0 s -> 3.3 s for one
      model's rows).
    - `disabled_compression_methods = 'dict_fsst'`: the keys (assessment_id, patient_key) are
      distinct pseudonyms; DuckDB 2's dictionary+FSST analysis of them cost 2.2 s CPU per 2M
      rows, against 0.45 s without it. They are then stored uncompressed (hex does not compress
      much anyway): about 50 MB more per model version and 2M assessments.
    - `memory_limit` at most 768 MiB: every block written stays in DuckDB's buffer pool until
      memory runs short, so three models' 2M rows held 1 GB of already-written data in memory
      (peak RSS 1.7 GiB); with the lower limit they are evicted, at no measured cost in time."""
    order, disabled, limit = conn.execute(
        "SELECT current_setting('preserve_insertion_order'), current_setting('disabled_compression_methods'), "
        "current_setting('memory_limit')").fetchall()[0]
    wanted = ",".join(dict.fromkeys([m for m in str(disabled).lower().split(",") if m] + ["dict_fsst"]))
    conn.execute("SET preserve_insertion_order = false").fetchall()
    conn.execute(f"SET disabled_compression_methods = '{wanted}'").fetchall()
    lowered = _bytes(limit) > SCORING_MEMORY_LIMIT_MIB * 2**20
    if lowered:
        conn.execute(f"SET memory_limit = '{SCORING_MEMORY_LIMIT_MIB}MiB'").fetchall()
    try:
        yield
    finally:
        if lowered:
            # the warehouse's own setting (etl.warehouse.connect set it), not DuckDB's rounded text
            conn.execute(f"SET memory_limit = '{warehouse.memory_limit()}'").fetchall()
        conn.execute(f"SET preserve_insertion_order = {'true' if order else 'false'}").fetchall()
        conn.execute(f"SET disabled_compression_methods = '{disabled}'").fetchall()


STALE_TABLE = "scoring_stale"


def write_scores(conn, model: StoredModel) -> tuple[int, int]:
    """Score, in one set-based statement, every assessment whose inputs this version has not
    scored yet; rows whose inputs changed since (a rebuild with new labs) are replaced, rows of
    assessments that are gone are deleted, the others are left alone (their `scored_at` too).
    Returns (rows written, of them without a score).

    A version's first run inserts every row without any comparison. A later run first finds
    what changed from the inputs' hash alone (no scoring) and then scores only those rows: at
    2M assessments a re-run with nothing changed costs one hash join, not two full scorings."""
    keys = {"name": model.name, "version": model.version}
    has_rows = conn.execute("SELECT count(*) > 0 FROM scoring.risk_scores WHERE model_name = $name "
                            "AND model_version = $version", keys).fetchall()[0][0]
    source = input_sql("assessment")
    if has_rows and _unchanged(conn, model, source, keys):
        return 0, 0
    if has_rows:
        conn.execute(f"""
            CREATE OR REPLACE TEMP TABLE {STALE_TABLE} AS
            WITH fresh AS ({inputs_hash_select(model.parameters).replace("{input}", source)}),
            stored AS (SELECT assessment_id, inputs_hash FROM scoring.risk_scores
                       WHERE model_name = $name AND model_version = $version)
            SELECT fresh.subject_id, stored.assessment_id AS stored_id
            FROM fresh FULL OUTER JOIN stored ON stored.assessment_id = fresh.subject_id
            WHERE fresh.inputs_hash IS DISTINCT FROM stored.inputs_hash""", keys).fetchall()
        try:
            if not conn.execute(f"SELECT count(*) FROM {STALE_TABLE}").fetchall()[0][0]:
                return 0, 0
            conn.execute(f"""
                DELETE FROM scoring.risk_scores
                WHERE model_name = $name AND model_version = $version
                  AND assessment_id IN (SELECT stored_id FROM {STALE_TABLE} WHERE stored_id IS NOT NULL)""",
                         keys).fetchall()
            source = (f"SELECT input.* FROM ({source}) AS input WHERE input.subject_id IN "
                      f"(SELECT subject_id FROM {STALE_TABLE} WHERE subject_id IS NOT NULL)")
            return _insert_scores(conn, model, source, keys)
        finally:
            conn.execute(f"DROP TABLE IF EXISTS {STALE_TABLE}").fetchall()
    return _insert_scores(conn, model, source, keys)


def _unchanged(conn, model: StoredModel, source: str, keys: dict) -> bool:
    """True when the stored rows are exactly the fresh (assessment, inputs hash) pairs: same
    count and the same XOR of their hashes (a change goes unseen with probability 2^-64). One
    pass over the inputs and one over the stored column, no join of the two: the usual re-run,
    with nothing changed, costs 0.5 s per model at 2M assessments instead of 1.1 s."""
    fresh = conn.execute(f"""
        SELECT count(*), bit_xor(hash(subject_id, inputs_hash))
        FROM ({inputs_hash_select(model.parameters).replace("{input}", source)})""").fetchall()[0]
    stored = conn.execute("""
        SELECT count(*), bit_xor(hash(assessment_id, inputs_hash)) FROM scoring.risk_scores
        WHERE model_name = $name AND model_version = $version""", keys).fetchall()[0]
    return tuple(fresh) == tuple(stored)


def _insert_scores(conn, model: StoredModel, source: str, keys: dict) -> tuple[int, int]:
    scored_at = _now()
    select = scoring_select(model.parameters).replace("{input}", source)
    conn.execute(f"""
        INSERT INTO scoring.risk_scores (assessment_id, patient_key, model_name, model_version, score,
            risk_probability, risk_band, band_note, not_scored_reason, contribution_values, inputs_hash, scored_at)
        SELECT fresh.subject_id, fresh.patient_key, $name, $version, fresh.score, fresh.risk_probability,
               fresh.risk_band, fresh.band_note, fresh.not_scored_reason, fresh.contribution_values,
               fresh.inputs_hash, $scored_at
        FROM ({select}) AS fresh""", keys | {"scored_at": scored_at}).fetchall()
    written, unscored = conn.execute(
        "SELECT count(*), count(*) FILTER (WHERE score IS NULL) FROM scoring.risk_scores "
        "WHERE model_name = $name AND model_version = $version AND scored_at = $scored_at",
        keys | {"scored_at": scored_at}).fetchall()[0]
    return int(written), int(unscored)


TRIAGE_COLUMNS = ("patient_key", "index_date", "model_name", "model_version", "referral_rank", "score",
                  "risk_probability", "risk_band", "drivers")


def write_triage(conn, model: StoredModel, drivers: int) -> int:
    """Replace the DXA referral candidates with the triage model's scores at each candidate's
    latest lab panel (one statement): ranked by estimated probability, with the variables that
    raise the score most (summed over a variable's terms, e.g. the spline) as drivers.

    When the table already holds exactly these rows (count and XOR of the rows' hashes), it is
    left alone, `scored_at` included: a re-run with nothing changed rewrites nothing."""
    select = scoring_select(model.parameters).replace("{input}", input_sql("triage"))
    terms = model.parameters["terms"]
    variables = list(dict.fromkeys(term.get("variable", term["name"]) for term in terms))
    # value first: structs sort by their fields in order
    per_variable = ", ".join(
        "{'value': " + " + ".join(f"fresh.contribution_values[{i + 1}]" for i, term in enumerate(terms)
                                  if term.get("variable", term["name"]) == variable)
        + ", 'name': '" + variable.replace("'", "''") + "'}"
        for variable in variables)
    rows = f"""
        SELECT fresh.patient_key, fresh.index_date, $name AS model_name, $version AS model_version,
               row_number() OVER (ORDER BY fresh.score DESC, fresh.patient_key) AS referral_rank,
               fresh.score, fresh.risk_probability, fresh.risk_band,
               array_to_string(list_transform(
                   list_filter(list_reverse_sort([{per_variable}]), lambda d: d.value > 0)[1:{int(drivers)}],
                   lambda d: d.name), ', ') AS drivers
        FROM ({select}) AS fresh
        WHERE fresh.score IS NOT NULL"""
    keys = {"name": model.name, "version": model.version}
    digest = f"count(*), bit_xor(hash({', '.join(TRIAGE_COLUMNS)}))"
    fresh = conn.execute(f"SELECT {digest} FROM ({rows})", keys).fetchall()[0]
    stored = conn.execute(f"SELECT {digest} FROM scoring.dxa_referral_candidates").fetchall()[0]
    if tuple(fresh) == tuple(stored):
        return int(stored[0])
    conn.execute("DELETE FROM scoring.dxa_referral_candidates").fetchall()
    conn.execute(f"""
        INSERT INTO scoring.dxa_referral_candidates ({', '.join(TRIAGE_COLUMNS)}, scored_at)
        SELECT *, $scored_at FROM ({rows})""", keys | {"scored_at": _now()}).fetchall()
    return conn.execute("SELECT count(*) FROM scoring.dxa_referral_candidates").fetchall()[0][0]


def to_document(model: StoredModel) -> dict:
    return {
        "format": FILE_FORMAT,
        "format_version": FILE_FORMAT_VERSION,
        "model_name": model.name,
        "model_version": model.version,
        "created_at": None if model.created_at is None else model.created_at.isoformat(),
        "origin": model.origin,
        "parameters": model.parameters,
        "metrics": model.metrics,
        "model_card": model.card,
        "training_fingerprint": model.fingerprint,
    }


def write_document(model: StoredModel, file: Path) -> Path:
    file = Path(file)
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(json.dumps(to_document(model), indent=1, sort_keys=True, allow_nan=False) + "\n",
                    encoding="utf-8")
    return file


def read_document(file: Path) -> StoredModel:
    """A model file, checked: its format, and that its version matches its parameters."""
    file = Path(file)
    try:
        document = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"The model file {file} does not exist.") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise UsageError(f"The model file {file} is not readable JSON ({error}).") from None
    if not isinstance(document, dict) or document.get("format") != FILE_FORMAT:
        raise UsageError(f"The file {file} is not an osteoreg model file (format {FILE_FORMAT!r} expected).")
    if document.get("format_version") != FILE_FORMAT_VERSION:
        raise UsageError(f"The model file {file} has format version {document.get('format_version')}, "
                         f"this registry reads version {FILE_FORMAT_VERSION}.")
    parameters = document.get("parameters")
    if not isinstance(parameters, dict) or version_of(parameters) != document.get("model_version"):
        raise UsageError(f"The model file {file} does not match its version {document.get('model_version')}: "
                         "its parameters were changed after export.")
    created = document.get("created_at")
    return StoredModel(name=document["model_name"], version=document["model_version"], parameters=parameters,
                       metrics=document.get("metrics"), card=document.get("model_card"),
                       fingerprint=document.get("training_fingerprint"), origin="imported",
                       created_at=None if created is None else datetime.fromisoformat(created))
