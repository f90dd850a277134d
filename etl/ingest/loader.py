"""Load files into the raw layer: one transaction per file, every row accounted for.

For each file: skip it if its bytes were loaded before (sha256); let the format's reader expose
canonical text rows; type and validate them in one SQL statement per kind; quarantine the rows
that fail with their first reason; count exact re-deliveries as duplicates (row hash, within the
file and against everything loaded before); insert the rest into `raw.*`; give new patient ids a
pseudonymous key; record the load in `audit.loads`. Any error rolls the whole file back and
leaves one `failed` row in `audit.loads`, so a file loads whole or not at all.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import time
import traceback
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb

from .. import __version__, identity, warehouse
from ..errors import InputError, OsteoregError, UsageError
from . import detect, fhir, flat, hl7v2
from .canonical import KINDS, Batch, ReaderResult
from .profiles import Profile, builtin_profiles, load_profile
from .validate import HASH_PROBE, kind_sql, row_hash, typed_query

# Physical operators that pass rows on in the order they arrive (see `_stage_in_file_order`).
ORDER_KEEPING_OPERATORS = {"PROJECTION", "READ_CSV", "FILTER", "TABLE_SCAN"}

# Files that describe an export rather than hold its rows (Bulk FHIR `$export` manifests and the
# synthetic generator's manifest) are passed over when a folder is walked.
_METADATA_NAMES = {"manifest.json"}

NOT_DATA = "not a data file"

# The share of a flat file's rows that may be malformed (quarantined as `malformed_row`) before the
# file is refused whole: a file that is mostly unreadable is more likely the wrong file, or the
# wrong encoding, than an export with a few broken lines.
MAX_MALFORMED_SHARE = 0.10


def max_malformed_share() -> float:
    """$OSTEOREG_MAX_MALFORMED_SHARE (a fraction, 0 to 1), default MAX_MALFORMED_SHARE."""
    text = os.environ.get("OSTEOREG_MAX_MALFORMED_SHARE")
    if not text:
        return MAX_MALFORMED_SHARE
    try:
        share = float(text)
    except ValueError:
        share = -1.0
    if not 0.0 <= share <= 1.0:
        raise UsageError(f"OSTEOREG_MAX_MALFORMED_SHARE must be a fraction from 0 to 1 (such as 0.1), not {text!r}.")
    return share


@dataclass
class FileOutcome:
    path: Path
    status: str                  # loaded, skipped (same bytes loaded before), failed
    load_id: int | None = None
    format: str | None = None
    kind: str | None = None
    profile: str | None = None
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    rows_duplicate: int = 0
    rows_untracked: int = 0
    rows_skipped: int = 0
    new_patients: int = 0
    message: str | None = None
    seconds: float = 0.0


@dataclass
class IngestReport:
    files: list[FileOutcome] = field(default_factory=list)

    def total(self, attribute: str) -> int:
        return sum(getattr(f, attribute) for f in self.files)

    @property
    def failed(self) -> list[FileOutcome]:
        return [f for f in self.files if f.status == "failed"]


def expand(paths: Iterable[os.PathLike | str]) -> list[Path]:
    """Files named, and files under folders named (recursively, sorted), hidden ones left out."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                relative = child.relative_to(path).parts
                if child.is_file() and not any(p.startswith(".") for p in relative) \
                        and child.name not in _METADATA_NAMES:
                    found.append(child)
        elif path.exists():
            found.append(path)
        else:
            raise InputError(f"{path}: no such file or folder.")
    return found


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 22), b""):
                digest.update(block)
    except OSError as error:
        raise InputError(f"{path}: the file cannot be read ({error.strerror or error}).") from None
    return digest.hexdigest()


def ingest_paths(
    warehouse_path: Path,
    paths: Iterable[os.PathLike | str],
    profile_path: Path | None = None,
    progress: Callable[[FileOutcome], None] | None = None,
    identity_path: Path | None = None,
) -> IngestReport:
    """Load every file under `paths`; a failed file is reported and the others still load.
    `identity_path`: identity settings (namespaces that are one), kept beside the warehouse."""
    warehouse_path = Path(warehouse_path)
    paths = list(paths)
    files = expand(paths)
    named = {Path(p).absolute() for p in paths if not Path(p).is_dir()}
    max_malformed_share()  # a bad setting is refused before anything is read
    forced = load_profile(profile_path) if profile_path else None
    profiles = ([forced] if forced else []) + builtin_profiles()
    secret = identity.load_secret(warehouse_path)  # a refused secret leaves no warehouse behind
    warehouse.ensure_current(warehouse_path)
    same_patient = identity.load_same_patient(warehouse_path, identity_path)
    settings = identity.load_settings(warehouse_path, identity_path)
    report = IngestReport()
    with warehouse.session(warehouse_path) as conn:
        keep_try_cast_lenient(conn)
        refresh_row_hashes(conn)
        # a namespace placed anew, or identifiers declared one patient or no longer: a merge or split
        if identity.apply_settings(conn, settings) + identity.apply_same_patient(conn, same_patient):
            identity.rekey_all(conn, secret)
        key_earlier_results(conn, secret)
        for path in files:
            if path.absolute() not in named and _not_data(path, profiles):
                outcome = FileOutcome(path=path, status="skipped", message=NOT_DATA)
            else:
                outcome = _ingest_file(conn, path, profiles, forced, (secret, settings))
            report.files.append(outcome)
            if progress:
                progress(outcome)
    return report


def _not_data(path: Path, profiles: list[Profile]) -> bool:
    """A file met while walking a folder that clearly holds no export: a document or an image by
    its extension, a Bulk-FHIR manifest, a `.txt` that is neither HL7 v2 nor a registry header."""
    suffix = path.suffix.lower()
    if suffix in detect.NOT_DATA_SUFFIXES:
        return True
    if suffix not in (".txt", ".json"):
        return False
    try:
        with path.open("rb") as handle:
            head = handle.read(1 << 16)
    except OSError:
        return False  # the load says why it cannot be read
    if suffix == ".json":
        return detect.is_export_manifest(head)
    return not (hl7v2.looks_like(head) or fhir.looks_like(path, head) or flat.header_recognised(path, head, profiles))


def result_key_sql(expr: str, secret: bytes) -> str:
    """SQL for the keyed form of a sender's result id (HMAC-SHA256 under the patients' secret, in
    its own `result:` domain so a result id equal to a patient id gets another key). Marts show
    this in place of the id, which often carries the patient's record number."""
    inner, outer = identity._pads(secret)
    return (f"CASE WHEN {expr} IS NOT NULL THEN left(sha256(unhex('{outer.hex()}') || unhex(sha256("
            f"unhex('{inner.hex()}') || encode('result:' || {expr})))), {identity.KEY_HEX_CHARS}) END")


def key_earlier_results(conn, secret: bytes) -> int:
    """Give rows loaded before `result_key` existed (migration 0006) their key; returns how many."""
    missing = conn.execute(
        "SELECT count(*) FROM raw.lab_results WHERE result_key IS NULL AND result_id IS NOT NULL").fetchall()[0][0]
    if missing:
        conn.execute(f"UPDATE raw.lab_results SET result_key = {result_key_sql('result_id', secret)} "
                     "WHERE result_key IS NULL AND result_id IS NOT NULL")
    return missing


def keep_try_cast_lenient(conn) -> None:
    """DuckDB 2.0's `type_pushdown` turns a `TRY_CAST` of a bare CSV column into a strict typed
    read, so one bad date fails the whole file instead of quarantining a row; it is turned off."""
    known = {r[0] for r in conn.execute("SELECT name FROM duckdb_optimizers()").fetchall()}
    if "type_pushdown" in known:
        conn.execute("SET disabled_optimizers = 'type_pushdown'")


def refresh_row_hashes(conn) -> bool:
    """Re-hash stored rows when DuckDB's hash function differs from the one the last load used.

    Without this, a DuckDB upgrade could make an old result's re-delivery look new. Returns
    whether anything was re-hashed.
    """
    last = conn.execute(
        "SELECT hash_probe FROM audit.loads WHERE status = 'loaded' ORDER BY load_id DESC LIMIT 1").fetchall()
    last = last[0] if last else None
    current = conn.execute(f"SELECT {HASH_PROBE}").fetchall()[0][0]
    if last is None or last[0] == current:
        return False
    conn.execute("BEGIN TRANSACTION")
    for kind in KINDS:
        spec = kind_sql(kind, [])
        conn.execute(f"UPDATE {spec.raw_table} AS r SET row_hash = {row_hash(spec, 'r')}")
    conn.execute("UPDATE audit.loads SET hash_probe = ? WHERE status = 'loaded'", [current])
    conn.execute("COMMIT")
    return True


def _previous_load(conn, path: Path, stat: os.stat_result) -> tuple[int, str] | None:
    """A successful earlier load of the same bytes. Same path, size and mtime skip hashing."""
    row = conn.execute(
        "SELECT load_id, sha256 FROM audit.loads WHERE status = 'loaded' AND source_path = ? "
        "AND file_size = ? AND file_mtime_ns = ? ORDER BY load_id LIMIT 1",
        [str(path.absolute()), stat.st_size, stat.st_mtime_ns],
    ).fetchall()
    return (row[0][0], row[0][1]) if row else None


def _ingest_file(conn, path: Path, profiles: list[Profile], forced: Profile | None,
                 secret: tuple[bytes, dict[str, str]]) -> FileOutcome:
    started = datetime.now()
    clock = time.perf_counter()
    outcome = FileOutcome(path=path, status="failed")
    stat = None
    try:
        try:
            stat = path.stat()
        except OSError as error:
            raise InputError(f"{path}: the file cannot be read ({error.strerror or type(error).__name__}).") from None
        quick = _previous_load(conn, path, stat)
        if quick is not None:
            _skipped(outcome, quick[0])
        else:
            # The file's sha256 is computed on another thread while DuckDB loads it (hashlib lets
            # go of the GIL). Bytes loaded before, under any name, are skipped: the load is rolled
            # back, and a load that failed (say, for want of the profile it came with) is let be.
            with ThreadPoolExecutor(max_workers=1) as pool:
                digest = pool.submit(_sha256, path)
                try:
                    _load_file(conn, path, profiles, forced, secret, outcome, digest, stat, started)
                except Exception:
                    earlier = _earlier_load(conn, digest.result())
                    if earlier is None:
                        raise
                    _skipped(outcome, earlier)
    except Exception as error:  # noqa: BLE001 - the one place a reader's error becomes a failed load
        outcome.message = describe_failure(path, outcome.format, error)
    finally:
        _drop_temp_objects(conn)
    outcome.seconds = time.perf_counter() - clock
    if outcome.status == "failed":
        _reset_counts(outcome)
        _record_failure(conn, outcome, stat, started)
    return outcome


def describe_failure(path: Path, fmt: str | None, error: Exception) -> str:
    """Any error met while loading one file, as one sentence naming the file (and line and field
    where known) that never repeats a value from the file: the message is stored in
    `audit.loads` and published, and a value may be a name or a birth date.

    OsteoregError messages are written to that rule; DuckDB's CSV errors are reduced to their
    line and the kind of problem; anything else is a defect of a reader, named by the exception
    type and where it was raised, so the run goes on with the next file.
    """
    if isinstance(error, OsteoregError):
        return str(error)
    if isinstance(error, duckdb.Error):
        return flat.describe_error(path, error) or (
            f"{path}: the file could not be loaded (DuckDB {type(error).__name__}: "
            f"{flat.without_values(str(error).splitlines()[0])}).")
    frames = [f for f in traceback.extract_tb(error.__traceback__) if "/etl/" in f.filename.replace(os.sep, "/")]
    where = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
    reader = f"the {fmt} reader" if fmt else "osteoreg"
    return (f"{path}: the file could not be read: {reader} stopped on an unexpected {type(error).__name__}"
            f"{where}; nothing of it was loaded, and this is a defect in osteoreg worth reporting.")


def _load_file(conn, path: Path, profiles: list[Profile], forced: Profile | None,
               secret: tuple[bytes, dict[str, str]], outcome: FileOutcome, digest: Future, stat: os.stat_result,
               started: datetime) -> None:
    """Read, type and load one file in one transaction; roll it back on any error or if
    `digest` turns out to name bytes loaded before."""
    with path.open("rb") as handle:
        head = handle.read(1 << 16)
    scratch: list[Path] = []
    conn.execute("BEGIN TRANSACTION")
    try:
        load_id = conn.execute("SELECT coalesce(max(load_id), 0) + 1 FROM audit.loads").fetchall()[0][0]
        outcome.load_id = load_id
        outcome.format = detect.detect(path, head)
        result = _read(conn, path, head, outcome.format, profiles, forced)
        scratch = result.scratch
        outcome.format, outcome.profile = result.format, result.profile
        outcome.kind = ",".join(dict.fromkeys(b.kind for b in result.batches)) or None
        for batch in result.batches:
            _load_batch(conn, path, load_id, result.format, batch, outcome, secret[0])
        _resolve_patients(conn, path, load_id, result, outcome, *secret)
        _quarantine_rejects(conn, load_id, result, outcome)
        outcome.rows_skipped += result.rows_skipped
        earlier = _earlier_load(conn, digest.result())
        if earlier is not None:
            conn.execute("ROLLBACK")
            _reset_counts(outcome)
            _skipped(outcome, earlier)
            return
        outcome.status = "loaded"
        _record(conn, outcome, digest.result(), stat, started)
        conn.execute("COMMIT")
    except BaseException:
        outcome.status = "failed"
        conn.execute("ROLLBACK")
        raise
    finally:
        for leftover in scratch:
            leftover.unlink(missing_ok=True)


def _earlier_load(conn, digest: str) -> int | None:
    return conn.execute("SELECT min(load_id) FROM audit.loads WHERE status = 'loaded' AND sha256 = ?",
                        [digest]).fetchall()[0][0]


def _reset_counts(outcome: FileOutcome) -> None:
    for name in ("rows_read", "rows_loaded", "rows_quarantined", "rows_duplicate", "rows_untracked",
                 "rows_skipped", "new_patients"):
        setattr(outcome, name, 0)


def _skipped(outcome: FileOutcome, earlier: int) -> FileOutcome:
    outcome.status, outcome.load_id = "skipped", earlier
    outcome.format = outcome.kind = outcome.profile = None
    outcome.message = f"already loaded as load {earlier}"
    return outcome


def _read(conn, path: Path, head: bytes, fmt: str, profiles: list[Profile], forced: Profile | None) -> ReaderResult:
    if fmt in ("csv", "parquet"):
        return flat.read(path, conn, head, profiles, forced)
    reader = detect.reader_for(fmt)
    return reader.read(path, conn)


def _stage_name(load_id: int, kind: str) -> str:
    return f"stage_{kind}_{load_id}"


def _load_batch(conn, path: Path, load_id: int, fmt: str, batch: Batch, outcome: FileOutcome, secret: bytes) -> None:
    """Type, validate, de-duplicate and insert one kind's rows from one file."""
    source = batch.table
    # lower-cased: DuckDB may keep a source column's spelling (PATIENT_ID) for its canonical alias
    present = [r[0].lower() for r in conn.execute(f"DESCRIBE SELECT * FROM {source}").fetchall() if r[0] != "source_row"]
    formats = batch.date_formats
    spec = kind_sql(batch.kind, formats, batch.numbers)
    typed = _stage_name(load_id, batch.kind)
    query = typed_query(batch.kind, source, present, formats, numbered=batch.first_row is None,
                        numbers=batch.numbers)
    if batch.first_row is None:
        conn.execute("SET preserve_insertion_order = false")
        conn.execute(f"CREATE TEMP TABLE {typed} AS {query}")
    else:
        malformed = _stage_in_file_order(conn, typed, query, batch.first_row, path, batch.rejects)
        _quarantine_malformed(conn, path, load_id, batch.kind, typed, malformed, outcome)

    # First delivery wins inside the file; anything already in raw (same hash, same patient) is a
    # duplicate of an earlier load. The file's hashes are counted once (a 64-bit key, cheap to
    # group); only the few that repeat are grouped again with the patient and their first line.
    hashes, repeats, earlier = f"{typed}_hashes", f"{typed}_repeats", f"{typed}_earlier"
    conn.execute(f"""CREATE TEMP TABLE {hashes} AS
        SELECT row_hash, count(*) AS n FROM {typed} WHERE reason IS NULL GROUP BY row_hash""")
    conn.execute(f"""
        CREATE TEMP TABLE {repeats} AS
        SELECT row_hash, patient_id, min(source_row) AS first_row
        FROM {typed}
        WHERE reason IS NULL AND row_hash IN (SELECT row_hash FROM {hashes} WHERE n > 1)
        GROUP BY row_hash, patient_id HAVING count(*) > 1
    """)
    # Stored rows sharing a hash with this file, by a semi-join against the file's hashes, so
    # DuckDB builds its hash table on the file (1M rows), not on the raw table (20M), and reads
    # only raw's hash column; the exact check (hash and patient) then runs on this handful.
    conn.execute(f"""
        CREATE TEMP TABLE {earlier} AS
        SELECT row_hash, patient_id FROM {spec.raw_table} WHERE row_hash IN (SELECT row_hash FROM {hashes})
    """)
    read, valid, quarantined = conn.execute(f"""
        SELECT count(*), count(*) FILTER (WHERE reason IS NULL), count(*) FILTER (WHERE reason IS NOT NULL)
        FROM {typed}""").fetchall()[0]
    keyed = batch.kind == "labs"
    inserted_columns = ", ".join(spec.raw_columns + (["result_key"] if keyed else []))
    key_value = f", {result_key_sql('t.result_id', secret)}" if keyed else ""
    # Row order inside raw does not matter (source_row is a column); not keeping it saves memory.
    conn.execute("SET preserve_insertion_order = false")
    loaded = conn.execute(f"""
        INSERT INTO {spec.raw_table}
            (load_id, source_file, source_row, source_format, {inserted_columns}, row_hash, extra)
        SELECT $load_id, $source_file, t.source_row, $format, {', '.join('t.' + c for c in spec.raw_columns)}{key_value},
               t.row_hash, t.extra
        FROM {typed} AS t
        LEFT JOIN {repeats} AS rep ON rep.row_hash = t.row_hash AND rep.patient_id = t.patient_id
        WHERE t.reason IS NULL
          AND (rep.first_row IS NULL OR rep.first_row = t.source_row)
          AND NOT EXISTS (SELECT 1 FROM {earlier} AS r
                          WHERE r.row_hash = t.row_hash AND r.patient_id = t.patient_id)
    """, {"load_id": load_id, "source_file": str(path.absolute()), "format": fmt}).fetchall()[0][0]
    if batch.kind == "labs":
        # A reader gives at most one batch per kind, so this is the file's whole untracked count.
        outcome.rows_untracked = conn.execute(
            f"SELECT count(*) FROM {spec.raw_table} WHERE load_id = ? AND NOT is_tracked", [load_id]).fetchall()[0][0]
    payload, payloads = "t.payload", ""
    if batch.payloads and quarantined:  # the resource the row came from (FHIR), for quarantined rows only
        payload = ("CASE WHEN p.line IS NULL THEN t.payload "
                   "ELSE json_object('resource', coalesce(TRY_CAST(p.line AS JSON), to_json(p.line))) END")
        payloads = (f"LEFT JOIN (SELECT source_row, any_value(line) AS line FROM {batch.payloads} "
                    f"WHERE source_row IN (SELECT source_row FROM {typed} WHERE reason IS NOT NULL) "
                    f"GROUP BY source_row) AS p ON p.source_row = t.source_row")
    conn.execute(f"""
        INSERT INTO audit.quarantine (load_id, source_row, kind, reason, field, payload)
        SELECT ?, t.source_row, ?, t.reason, t.field, {payload} FROM {typed} AS t {payloads}
        WHERE t.reason IS NOT NULL
    """, [load_id, batch.kind])
    outcome.rows_read += read
    outcome.rows_loaded += loaded
    outcome.rows_quarantined += quarantined
    outcome.rows_duplicate += valid - loaded


def _resolve_patients(conn, path: Path, load_id: int, result: ReaderResult, outcome: FileOutcome,
                      secret: bytes, settings: dict[str, str]) -> None:
    """Place the file's patient namespaces, record its identifiers and key its references
    (contract section 2a; see `etl.identity`)."""
    found: set[str] = set()
    for batch in result.batches:
        names = {r[0].lower() for r in conn.execute(f"DESCRIBE SELECT * FROM {batch.table}").fetchall()}
        if "patient_id_namespace" in names:
            found |= {r[0] for r in conn.execute(
                f"SELECT DISTINCT patient_id_namespace FROM {batch.table} "
                f"WHERE patient_id_namespace IS NOT NULL AND patient_id_namespace <> ''").fetchall()}
    identity.place_namespaces(conn, load_id, result.format, found, settings, path)
    tables = dict.fromkeys(kind_sql(b.kind, []).raw_table for b in result.batches)
    references = "(" + " UNION ALL ".join(
        f"SELECT patient_id FROM {t} WHERE load_id = {int(load_id)}" for t in tables) + ")"
    if not tables:
        return
    if result.identifiers:
        identity.record_identifiers(conn, load_id, result.format, result.identifiers)
    else:  # a flat export names only the patient's record identifier
        conn.execute(f"""CREATE TEMP TABLE src_identifiers_{int(load_id)} AS
            SELECT n.namespace, 'patient_id' AS id_type,
                   CASE WHEN n.namespace IS NULL THEN r.patient_id ELSE substr(r.patient_id, strpos(r.patient_id, '|') + 1) END
                       AS id_value,
                   NULL::VARCHAR AS reference, r.patient_id
            FROM (SELECT DISTINCT patient_id FROM {references}) AS r
            LEFT JOIN identity.namespaces AS n
              ON strpos(r.patient_id, '|') > 0 AND n.namespace = left(r.patient_id, strpos(r.patient_id, '|') - 1)""")
        identity.record_identifiers(conn, load_id, result.format, f"src_identifiers_{int(load_id)}")
    outcome.new_patients += identity.resolve_keys(conn, references, load_id, secret)


def _stage_in_file_order(conn, typed: str, query: str, first_row: int, path: Path, rejects: str | None = None) -> str | None:
    """Type a source that has no row numbers (a CSV file) into `typed`, numbering rows by line.

    DuckDB's CSV reader gives no row number and `row_number() OVER ()` would make it read the
    file on one thread. A table created with insertion order preserved from a join-free query
    keeps the file's order in its `rowid` (which starts at an offset inside a transaction), so the
    parallel read is kept and the typed rows are numbered afterwards. A join would give that order
    up (DuckDB turns a long `IN (...)` list into one), hence the check of the plan first.

    Lines the CSV reader rejected (`rejects`, with their line numbers) are missing from that
    order; every row after one moves down by the rejected lines before it. Returns the name of a
    temp table of the rejected lines (line, field, text, problem), or None when there were none.
    """
    operators = plan_operators(conn, query)
    if not operators <= ORDER_KEEPING_OPERATORS:
        raise OsteoregError(
            f"{path}: rows cannot be numbered by line because the typing query uses "
            f"{', '.join(sorted(operators - ORDER_KEEPING_OPERATORS))}; this is a defect in osteoreg.")
    conn.execute("SET preserve_insertion_order = true")
    conn.execute(f"CREATE TEMP TABLE {typed}_rows AS {query}")
    first = conn.execute(f"SELECT min(rowid) FROM {typed}_rows").fetchall()[0][0] or 0
    malformed = None
    if rejects and conn.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [rejects]).fetchall()[0][0]:
        malformed = f"{typed}_malformed"
        # One row per rejected line (DuckDB may report several problems on one line).
        conn.execute(f"""CREATE TEMP TABLE {malformed} AS
            SELECT line, arg_min(column_name, coalesce(column_idx, 0)) AS field, any_value(csv_line) AS text,
                   arg_min(error_type, coalesce(column_idx, 0)) AS problem,
                   arg_min(error_message, coalesce(column_idx, 0)) AS detail
            FROM {rejects} GROUP BY line""")
    if malformed and conn.execute(f"SELECT count(*) FROM {malformed}").fetchall()[0][0]:
        # The k-th rejected line (by line) has `line - first_row - (k - 1)` kept rows before it;
        # a kept row moves down by the number of rejected lines whose count of kept rows before
        # them is at most its own position.
        conn.execute(f"""CREATE TEMP TABLE {typed}_gaps AS
            SELECT kept_before, max(k) AS k FROM (
                SELECT line - {int(first_row)} - (row_number() OVER (ORDER BY line) - 1) AS kept_before,
                       row_number() OVER (ORDER BY line) AS k FROM {malformed})
            GROUP BY kept_before""")
        conn.execute(f"""CREATE TEMP VIEW {typed} AS
            SELECT r.position + {int(first_row)} + coalesce(g.k, 0) AS source_row, r.* EXCLUDE (source_row, position)
            FROM (SELECT rowid - {int(first)} AS position, * FROM {typed}_rows) AS r
            ASOF LEFT JOIN {typed}_gaps AS g ON r.position >= g.kept_before""")
    else:
        conn.execute(f"""CREATE TEMP VIEW {typed} AS
            SELECT rowid - {int(first)} + {int(first_row)} AS source_row, * EXCLUDE (source_row) FROM {typed}_rows""")
    return malformed


def _quarantine_malformed(conn, path: Path, load_id: int, kind: str, typed: str, malformed: str | None,
                          outcome: FileOutcome) -> None:
    """Quarantine the lines the CSV reader could not split (`malformed_row`, the line as sent as
    payload), or refuse the whole file when they are more than its allowed share."""
    if malformed is None:
        return
    rejected, first_line, problem, detail = conn.execute(
        f"SELECT count(*), min(line), arg_min(problem, line), arg_min(detail, line) FROM {malformed}").fetchall()[0]
    if not rejected:
        return
    kept = conn.execute(f"SELECT count(*) FROM {typed}_rows").fetchall()[0][0]
    share = max_malformed_share()
    if rejected > share * (rejected + kept):
        encoding = problem == "INVALID ENCODING"
        hint = "; name its encoding in a source profile, e.g. `encoding: latin-1`" if encoding else ""
        what = "a TSV" if outcome.format == "tsv" else "a CSV"
        raise InputError(
            f"{path} line {first_line}: the export cannot be read as {what} file ({rejected:,} of "
            f"{rejected + kept:,} rows are malformed, more than the {share:.0%} allowed "
            f"(OSTEOREG_MAX_MALFORMED_SHARE); the first: {flat.without_values(detail).rstrip('.')}){hint}.")
    conn.execute(f"""
        INSERT INTO audit.quarantine (load_id, source_row, kind, reason, field, payload)
        SELECT ?, line, ?, 'malformed_row', field, json_object('line', text, 'problem', lower(problem))
        FROM {malformed}
    """, [load_id, kind])
    outcome.rows_read += rejected
    outcome.rows_quarantined += rejected


def plan_operators(conn, query: str) -> set[str]:
    """The physical operators DuckDB would run `query` with (HASH_JOIN, PROJECTION, ...)."""
    plan = conn.execute(f"EXPLAIN (FORMAT json) {query}").fetchall()[0][1]
    return set(re.findall(r'"name": "([A-Z_]+)"', plan))


def _quarantine_rejects(conn, load_id: int, result: ReaderResult, outcome: FileOutcome) -> None:
    """Messages or resources a reader could not turn into rows, kept whole with their reason."""
    if not result.rejects:
        return
    conn.executemany(
        "INSERT INTO audit.quarantine (load_id, source_row, kind, reason, field, payload) VALUES (?, ?, ?, ?, ?, ?)",
        [[load_id, r.source_row, "message", r.reason, r.field, json.dumps(r.payload, default=str)]
         for r in result.rejects],
    )
    outcome.rows_read += len(result.rejects)
    outcome.rows_quarantined += len(result.rejects)


def _record(conn, outcome: FileOutcome, digest: str | None, stat: os.stat_result | None, started: datetime) -> None:
    conn.execute(
        f"""INSERT INTO audit.loads (load_id, source_path, sha256, file_size, file_mtime_ns, format, kind, profile,
               rows_read, rows_loaded, rows_quarantined, rows_duplicate, rows_untracked, rows_skipped,
               status, message, started_at, finished_at, osteoreg_version, hash_probe)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, {HASH_PROBE})""",
        [outcome.load_id, str(outcome.path.absolute()), digest, stat.st_size if stat else None,
         stat.st_mtime_ns if stat else None, outcome.format,
         outcome.kind, outcome.profile, outcome.rows_read, outcome.rows_loaded, outcome.rows_quarantined,
         outcome.rows_duplicate, outcome.rows_untracked, outcome.rows_skipped, outcome.status, outcome.message,
         started, datetime.now(), __version__],
    )


def _record_failure(conn, outcome: FileOutcome, stat: os.stat_result | None, started: datetime) -> None:
    """The failed load's own row, written after the rollback so nothing else of the file remains."""
    outcome.load_id = conn.execute("SELECT coalesce(max(load_id), 0) + 1 FROM audit.loads").fetchall()[0][0]
    _record(conn, outcome, None, stat, started)


def _drop_temp_objects(conn) -> None:
    rows = conn.execute(
        "SELECT table_name, table_type FROM information_schema.tables "
        "WHERE table_catalog = 'temp' AND (table_name LIKE 'stage_%' OR table_name LIKE 'src_%')"
    ).fetchall()
    for name, table_type in rows:
        conn.execute(f"DROP {'VIEW' if table_type == 'VIEW' else 'TABLE'} IF EXISTS temp.{name}")
