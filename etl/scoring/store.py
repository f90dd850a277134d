"""Model versions and scores in `scoring.*`, and model files that move a model between registries.

A version is the first 16 hex digits of the SHA-256 of the canonical parameters JSON (floats
rounded to 12 significant digits first, so last-bit noise of a refit on the same data cannot make
a new version); the rounded parameters are what is stored and applied, so two registries holding
the same file compute the same probabilities.
"""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pyarrow as pa

from ..errors import UsageError
from .frame import unscored_frame
from .linear import apply

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


def write_scores(conn, model: StoredModel, outcome_categories: tuple[str, ...]) -> tuple[int, int]:
    """Score every assessment that has no row for this version; returns (written, not scorable).

    Applying is numpy over whole columns; the contributions JSON is built by DuckDB from one
    column per term, so no Python loop touches rows.
    """
    frame = unscored_frame(conn, outcome_categories, model.name, model.version)
    if len(frame) == 0:
        return 0, 0
    applied = apply(model.parameters, frame.columns)
    keep = applied.scorable
    terms = model.parameters["terms"]
    batch = {
        "assessment_id": pa.array(frame.assessment_id[keep], type=pa.string()),
        "patient_key": pa.array(frame.patient_key[keep], type=pa.string()),
        "score": pa.array(applied.score[keep]),
        "probability": pa.array(applied.probability[keep] if applied.probability is not None
                                else np.full(int(keep.sum()), np.nan), from_pandas=True),
        "band": pa.array(applied.band[keep], type=pa.string()),
    }
    for i, term in enumerate(terms):
        batch[f"c{i}"] = pa.array(applied.contributions[term["name"]][keep])
    pairs = [f"'{term['name']}', c{i}" for i, term in enumerate(terms)]
    if model.parameters["kind"] == "logistic":
        batch["intercept"] = pa.array(np.full(int(keep.sum()), float(model.parameters["intercept"])))
        pairs.insert(0, "'intercept', intercept")
    conn.register("scoring_batch", pa.table(batch))
    try:
        conn.execute(f"""
            INSERT INTO scoring.risk_scores (assessment_id, patient_key, model_name, model_version, score,
                risk_probability, risk_band, contributions, scored_at)
            SELECT assessment_id, patient_key, $name, $version, score, probability, band,
                   json_object({', '.join(pairs)}), $scored_at
            FROM scoring_batch""", {"name": model.name, "version": model.version, "scored_at": _now()}).fetchall()
    finally:
        conn.unregister("scoring_batch")
    return int(keep.sum()), int((~keep).sum())


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
