"""FHIR R4 reader (contract section 4): JSON Bundles / single resources and Bulk-FHIR NDJSON.

Both shapes go through one set-based mapping in DuckDB: every resource becomes a line of JSON text
with its `source_row` (NDJSON: the line number; Bundle: the entry index + 1), is parsed once
(`json_extract_string` with the list of paths the registry uses), and is projected into the
canonical kinds with SQL. NDJSON never passes through Python row by row; a JSON file is small enough to be
loaded by Python, which only resolves the Bundle's `fullUrl` and contained-Patient references
(a Bundle-level fact) before handing its entries to the same SQL.

Choices (documented in the report and the contract's spirit):
- A Patient is named by its record identifier (contract 2a: type MR, else `use` usual/official
  without a type; never an SSN), qualified by its `system`; without one, by its logical id as
  `Patient/<id>` (a transaction Bundle's id-less Patient: the uuid of its `urn:uuid:` fullUrl; a
  contained Patient: `<container id>.<id>`). Subjects stay `Patient/<id>` references (or a
  logical identifier reference's value and system); `identity` resolves them through the
  Patient's identifiers, which the reader lists in `ReaderResult.identifiers`, in any load order.
- A version's time is `meta.lastUpdated`, else `issued`; a history Bundle's order (newest first)
  or `meta.versionId` orders versions without one (contract 5).
- Sex comes from the US Core `us-core-individual-sex` extension (SNOMED female/male) when present,
  else `us-core-birthsex`, else `gender`: the registry needs sex for clinical use (T-score
  reference populations), which is what these extensions carry; `gender` is administrative.
- Menopausal status and fracture fragility have no FHIR element; they are read from the osteoreg
  extensions below, which the synthetic writer also uses.
- A Condition or Procedure is a fracture when one of its SNOMED CT codings (or its text) names a
  fracture; every other resource type is counted as skipped.
- DXA Observations become one `dxa` row each (see the `dxa` query for why); JSON numbers reach
  the loader as DuckDB writes them (`0.820` -> `0.82`): the value, not its spelling, is the fact.
"""
from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from .. import sqltext, terminology
from ..terminology import seed_path
from .canonical import Batch, ReaderResult, Reject
from .numbers import STRICT_NUMBERS
from .seed_lookup import fhir_status_as_hl7

MENOPAUSAL_STATUS_URL = "https://osteoreg.org/fhir/StructureDefinition/menopausal-status"
FRAGILITY_URL = "https://osteoreg.org/fhir/StructureDefinition/fracture-fragility"
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
RESOURCE_TYPES_USED = ("Patient", "Observation", "Condition", "Procedure")
# US Core vital signs (LOINC, UCUM unit) that the dxa kind carries: height and weight measured on
# a scan's date go onto that date's DXA rows (the Observations themselves also load as results).
VITAL_SIGNS = {"8302-2": ("height_cm", "cm"), "29463-7": ("weight_kg", "kg")}


def _tracked_loinc() -> list[str]:
    """LOINC codes the registry reads (analytes, DXA, vital signs): such a coding wins over the
    first one when a code carries several."""
    dxa = [r["loinc_code"] for r in terminology.rows("dxa_codes")]
    return sorted(set(terminology.analyte_by_loinc()) | set(dxa) | set(VITAL_SIGNS) | {"39156-5"})

# The elements the registry reads, each by one JSONPath: all are taken in one parse per line
# (`json_extract_string` with a list of paths), which is several times faster than transforming
# whole resources into structs. `code.coding` comes back as JSON text and is turned into a list.
_PATHS = {
    "resource_type": "$.resourceType", "id": "$.id", "status": "$.status",
    "subject_reference": "$.subject.reference",
    "effective_date_time": "$.effectiveDateTime", "effective_period_start": "$.effectivePeriod.start",
    "effective_instant": "$.effectiveInstant",
    "q_value": "$.valueQuantity.value", "q_unit": "$.valueQuantity.unit", "q_code": "$.valueQuantity.code",
    "q_comparator": "$.valueQuantity.comparator", "value_string": "$.valueString",
    "coding_json": "$.code.coding", "code_text": "$.code.text",
    "range_text": "$.referenceRange[0].text", "range_low": "$.referenceRange[0].low.value",
    "range_high": "$.referenceRange[0].high.value",
    "interpretation_code": "$.interpretation[0].coding[0].code", "interpretation_text": "$.interpretation[0].text",
    "gender": "$.gender", "birth_date": "$.birthDate", "identifier_json": "$.identifier",
    "subject_identifier_system": "$.subject.identifier.system", "subject_identifier_value": "$.subject.identifier.value",
    "last_updated": "$.meta.lastUpdated", "version_id": "$.meta.versionId", "issued": "$.issued",
    "value_integer": "$.valueInteger", "value_boolean": "$.valueBoolean",
    "value_concept_text": "$.valueCodeableConcept.text", "value_concept_code": "$.valueCodeableConcept.coding[0].code",
    "onset_date_time": "$.onsetDateTime", "onset_period_start": "$.onsetPeriod.start",
    "recorded_date": "$.recordedDate", "performed_date_time": "$.performedDateTime",
    "performed_period_start": "$.performedPeriod.start",
    "verification_status": "$.verificationStatus.coding[0].code",
    "body_site_text": "$.bodySite[0].text", "body_site_display": "$.bodySite[0].coding[0].display",
    "extension_json": "$.extension",
}
# The record reference of a Patient row, as `validate.patient_reference` writes the same identifier
# (value, qualified by its system in the loader) or, without a record identifier, its logical id.
_RECORD_REFERENCE_VALUE = "coalesce(record_identifier.value, 'Patient/' || id)"
_RECORD_REFERENCE = ("CASE WHEN record_identifier.value IS NULL THEN 'Patient/' || id "
                     "WHEN nullif(record_identifier.system, '') IS NULL THEN record_identifier.value "
                     "ELSE record_identifier.system || '|' || record_identifier.value END")
_CODINGS = [{"system": "VARCHAR", "code": "VARCHAR", "display": "VARCHAR"}]
_IDENTIFIERS = [{"system": "VARCHAR", "value": "VARCHAR", "use": "VARCHAR",
                 "type": {"coding": [{"system": "VARCHAR", "code": "VARCHAR"}], "text": "VARCHAR"}}]
# LOINC's other spellings of its system (contract section 4).
LOINC_ALIASES = ("http://loinc.org/", "urn:oid:2.16.840.1.113883.6.1", "https://loinc.org")
# The identifier that names the patient's record (contract section 2a): type MR, else `use`
# usual/official without a type; never SS, DL, insurance or account numbers.
_RECORD_IDENTIFIER = """coalesce(
    list_filter(ids, lambda i: i.value IS NOT NULL AND list_contains(list_transform(i.type.coding, lambda c: c.code), 'MR'))[1],
    list_filter(ids, lambda i: i.value IS NOT NULL AND i.type IS NULL AND i.use IN ('usual', 'official'))[1])"""
_EXTENSIONS = [{"url": "VARCHAR", "valueCoding": {"system": "VARCHAR", "code": "VARCHAR"},
                "valueCode": "VARCHAR", "valueBoolean": "VARCHAR",
                "extension": [{"url": "VARCHAR", "valueString": "VARCHAR"}]}]

# FHIR status -> HL7 table 0085 letter (seed result_statuses, contract section 7). Anything else
# stays as written, so the loader quarantines it as `invalid_status`.
_OBSERVATION_STATUS = fhir_status_as_hl7("status")
# Condition: only verificationStatus can withdraw a diagnosis. Procedure.status (event status).
_FRACTURE_STATUS = """CASE
    WHEN resource_type = 'Condition' THEN
        CASE WHEN verification_status IN ('entered-in-error', 'refuted') THEN 'D' ELSE 'F' END
    ELSE CASE status WHEN 'completed' THEN 'F' WHEN 'entered-in-error' THEN 'D'
        WHEN 'not-done' THEN 'X' WHEN 'preparation' THEN 'P' WHEN 'in-progress' THEN 'P'
        WHEN 'on-hold' THEN 'P' ELSE status END END"""


def looks_like(path: Path, head: bytes) -> bool:
    """A JSON object naming a `resourceType`, or NDJSON lines of such objects."""
    text = head.lstrip(b"\xef\xbb\xbf").lstrip()
    if not text.startswith(b"{"):
        return False
    if path.suffix.lower() in (".ndjson", ".json", ".jsonl"):
        return b'"resourceType"' in text or path.suffix.lower() == ".ndjson"
    return b'"resourceType"' in text


def _is_ndjson(path: Path) -> bool:
    """NDJSON by extension, else by content (some exports name NDJSON `.json`): a JSON file is
    one value, NDJSON has a complete resource on its first line and more lines after it."""
    if path.suffix.lower() in (".ndjson", ".jsonl"):
        return True
    with open(path, "rb") as handle:
        first = handle.readline()
        second = handle.readline()
    try:
        json.loads(first)
    except (ValueError, RecursionError):
        return False
    return bool(second.strip())


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _sql(name: str, **parameters: str) -> str:
    """The mapping statement `sql/<name>` with its parameters (named at the top of each file)."""
    return sqltext.render(sqltext.template(__package__, name), **parameters)


def read(path: Path, conn) -> ReaderResult:
    """One file into temp tables on `conn` (one per kind); their names are the batches' tables."""
    path = Path(path)
    tag = uuid.uuid4().hex[:12]
    source = f"src_fhir_source_{tag}"
    if _is_ndjson(path):
        result = ReaderResult(format="fhir_ndjson")
        _ndjson_source(path, conn, source, tag, result)
    else:
        result = ReaderResult(format="fhir_json")
        if not _json_source(path, conn, source, result, f"src_fhir_payloads_{tag}"):
            return result
    _map_resources(conn, _open_components(conn, source), tag, result)
    payloads = f"src_fhir_payloads_{tag}"
    for batch in result.batches:
        batch.payloads = payloads
    # The resources as sent, kept until the loader is done with the file (its `src_*` clean-up):
    # NDJSON's lines (a line holding a Bundle is the payload of each of its entries), or the
    # JSON file's entries (`_json_source`).
    kept = (f"src_fhir_base_{tag}", f"src_fhir_lines_{tag}")
    if result.format == "fhir_ndjson":
        conn.execute(f"CREATE TEMP VIEW {payloads} AS SELECT source_row, line FROM src_fhir_base_{tag}").fetchall()
    for leftover in (f"{source}_parts", source, f"{source}_entries", f"src_fhir_base_{tag}", f"src_fhir_lines_{tag}"):
        if leftover in kept:
            continue
        kind = conn.execute("SELECT table_type FROM information_schema.tables WHERE table_catalog = 'temp' "
                            "AND table_name = ?", [leftover]).fetchall()
        if kind:
            conn.execute(f"DROP {'VIEW' if kind[0][0] == 'VIEW' else 'TABLE'} {leftover}").fetchall()
    return result


class _Malformed(ValueError):
    """A JSON document that is no FHIR resource or Bundle the reader can walk (one sentence)."""


def _open_components(conn, source: str) -> str:
    """An Observation with `component`s (a DXA panel carrying T-score, Z-score and BMD, a blood
    pressure) stands for its components: each becomes an Observation of its own, with the
    parent's subject, time and status, its code and value, and the id `<parent id>.<n>`.
    Returns the source to map (the same one when no line has components)."""
    if not conn.execute(f"SELECT count(*) FROM {source} WHERE contains(line, '\"component\"')").fetchone()[0]:
        return source
    parts = f"{source}_parts"
    conn.execute(_sql("fhir_components.sql", parts=parts, source=source)).fetchall()
    return parts


def _ndjson_source(path: Path, conn, source: str, tag: str, result: ReaderResult) -> None:
    """Lines as text in file order, as `source` (source_row, line, version_seq).

    DuckDB keeps insertion order on CREATE TABLE AS, so a fresh temp table's row ids run
    consecutively in file order; inside the loader's transaction they start at a
    transaction-local base, hence the line number is rowid - min(rowid) + 1. A file with bytes
    that are not UTF-8 is read line by line in Python instead: only the bad lines are
    quarantined. A line holding a whole Bundle is opened into its entries.
    """
    lines = f"src_fhir_lines_{tag}"
    base = f"src_fhir_base_{tag}"
    conn.execute("SET preserve_insertion_order = true")  # set here: the loader may have turned it off
    try:
        conn.execute(f"""
            CREATE TEMP TABLE {lines} AS
            SELECT line FROM read_csv({_sql_string(str(path))}, columns = {{'line': 'VARCHAR'}},
                header = false, delim = '\x01', quote = '', escape = '', auto_detect = false,
                strict_mode = false, max_line_size = 1073741824)""").fetchall()
        # A view, not a copy: the lines are scanned once, by the extraction.
        conn.execute(f"""
            CREATE TEMP VIEW {base} AS
            SELECT rowid - (SELECT min(rowid) FROM {lines}) + 1 AS source_row, line FROM {lines}
            WHERE line IS NOT NULL AND (left(line, 1) NOT IN (' ', '\t', '\r') OR trim(line) <> '')""").fetchall()
    except duckdb.Error as error:
        if "utf" not in str(error).lower() and "unicode" not in str(error).lower():
            raise
        _ndjson_by_line(path, conn, base, result)
    bundles = conn.execute(f"""
        SELECT source_row, line FROM {base}
        WHERE contains(line, '"Bundle"') AND TRY(json_extract_string(line, '$.resourceType')) = 'Bundle'
    """).fetchall()
    if not bundles:
        conn.execute(f"CREATE TEMP VIEW {source} AS SELECT *, NULL::BIGINT AS version_seq FROM {base}").fetchall()
        return
    opened: list[tuple[int, str, int | None]] = []
    for row, line in bundles:
        try:
            opened += _bundle_rows(json.loads(line), result, row)
        except (_Malformed, ValueError, RecursionError) as problem:
            result.rejects.append(Reject(row, "unparseable_message", None, _payload(line, str(problem))))
    entries = _rows_table(opened)  # noqa: F841 (read by DuckDB's replacement scan)
    conn.execute(f"CREATE TEMP TABLE {source}_entries AS SELECT * FROM entries").fetchall()
    rows = ", ".join(str(row) for row, _ in bundles)
    conn.execute(f"""
        CREATE TEMP VIEW {source} AS
        SELECT *, NULL::BIGINT AS version_seq FROM {base} WHERE source_row NOT IN ({rows})
        UNION ALL SELECT * FROM {source}_entries""").fetchall()


def _ndjson_by_line(path: Path, conn, base: str, result: ReaderResult) -> None:
    """The slow path for a file with bytes that are not UTF-8: such a line is quarantined whole
    (as Latin-1 text, so nothing is lost), every other line is read."""

    rows, lines = [], []
    for number, raw in enumerate(Path(path).read_bytes().split(b"\n"), 1):
        raw = raw.rstrip(b"\r")
        if not raw.strip():
            continue
        try:
            lines.append(raw.decode("utf-8"))
            rows.append(number)
        except UnicodeDecodeError as error:
            result.rejects.append(Reject(number, "unparseable_message", None, {
                "line": raw.decode("latin-1"),
                "error": f"line {number} is not UTF-8 text (byte {error.start + 1})"}))
    decoded = pa.table({"source_row": pa.array(rows, pa.int64()),  # noqa: F841
                        "line": pa.array(lines, pa.string())})
    conn.execute(f"CREATE TEMP TABLE {base} AS SELECT * FROM decoded").fetchall()


def _logical_id(resource: dict, full_url: str | None = None) -> str | None:
    """The Patient's logical id: `Patient.id`, else the uuid of its `urn:uuid:` fullUrl (a
    transaction Bundle). Never an identifier: which identifier names the patient is decided in
    SQL (`_RECORD_IDENTIFIER`), the same way for every file shape."""
    if isinstance(resource.get("id"), str) and resource["id"]:
        return resource["id"]
    if isinstance(full_url, str) and full_url.startswith("urn:uuid:"):
        return full_url[len("urn:uuid:"):]
    return None


def _rows_table(rows: list[tuple[int, str, int | None]]):

    return pa.table({"source_row": pa.array([r[0] for r in rows], pa.int64()),
                     "line": pa.array([r[1] for r in rows], pa.string()),
                     "version_seq": pa.array([r[2] for r in rows], pa.int64())})


def _bundle_rows(document: Any, result: ReaderResult, line: int | None = None) -> list[tuple[int, str, int | None]]:
    """A Bundle's entries (or the one resource) as (source_row, JSON text, version_seq), with
    references to Patients in the Bundle written as `Patient/<logical id>`: by fullUrl
    (`urn:uuid:`), `Patient/<id>` or a contained `#id`. `line`: the NDJSON line holding the Bundle
    (every entry keeps it as its source row); else an entry's row is its index + 1.
    A history Bundle runs newest first: `version_seq` is higher for newer entries."""
    if not isinstance(document, dict) or not isinstance(document.get("resourceType"), str):
        raise _Malformed("the JSON is not a FHIR resource (an object with a resourceType)")
    if document["resourceType"] != "Bundle":
        return [(line or 1, json.dumps(document), None)]
    entries = document.get("entry") or []
    if not isinstance(entries, list):
        raise _Malformed("the Bundle's `entry` is not a list")
    history = document.get("type") == "history"
    items = []
    for index, entry in enumerate(entries):
        if isinstance(entry, dict):
            url = entry.get("fullUrl") if isinstance(entry.get("fullUrl"), str) else None
            items.append((line or index + 1, entry.get("resource"), url, len(entries) - index if history else None))
        else:
            items.append((line or index + 1, entry, None, None))

    references: dict[str, str] = {}
    for _, resource, full_url, _ in items:
        if isinstance(resource, dict) and resource.get("resourceType") == "Patient":
            logical = _logical_id(resource, full_url)
            if logical is None:
                continue
            if full_url:
                references[full_url] = f"Patient/{logical}"
            references[f"Patient/{logical}"] = f"Patient/{logical}"

    rows: list[tuple[int, str, int | None]] = []
    for row, resource, full_url, seq in items:
        if resource is None:
            result.rows_skipped += 1  # e.g. a transaction DELETE entry: a request, no resource
            continue
        if isinstance(resource, dict):
            local: dict[str, str] = {}
            contained = resource.get("contained")
            for inner in contained if isinstance(contained, list) else []:
                if isinstance(inner, dict) and inner.get("resourceType") == "Patient" and inner.get("id"):
                    # A contained id is local to its container: qualified by the container's id.
                    logical = f"{resource.get('id') or row}.{inner['id']}"
                    local[f"#{inner['id']}"] = f"Patient/{logical}"
                    rows.append((row, json.dumps({**inner, "id": logical}), seq))
            subject = resource.get("subject")
            if isinstance(subject, dict) and isinstance(subject.get("reference"), str):
                target = local.get(subject["reference"]) or references.get(subject["reference"])
                if target is not None:
                    resource = {**resource, "subject": {**subject, "reference": target}}
            if resource.get("resourceType") == "Patient" and not resource.get("id"):
                resource = {**resource, "id": _logical_id(resource, full_url)}
        rows.append((row, json.dumps(resource), seq))
    return rows


def _json_source(path: Path, conn, source: str, result: ReaderResult, payloads: str) -> bool:
    """Entries of a Bundle (or the one resource) with their references resolved to Patients.
    Returns False when there is nothing to map: a file that is not a FHIR resource (quarantined
    whole, with one sentence) or a Bulk Data manifest (skipped)."""
    data = path.read_bytes()
    text = data.decode("utf-8-sig", errors="replace")
    try:
        data.decode("utf-8-sig")
        document = json.loads(text)
        if isinstance(document, dict) and "resourceType" not in document and "output" in document \
                and "transactionTime" in document:
            result.rows_skipped = 1  # a Bulk Data export manifest: it lists files, it holds no resources
            return False
        rows = _bundle_rows(document, result)
    except (ValueError, RecursionError, _Malformed) as error:
        detail = {UnicodeDecodeError: "the file is not UTF-8 text", RecursionError: "the JSON nests too deeply"}
        reason = next((v for k, v in detail.items() if isinstance(error, k)), None) \
            or (str(error) if isinstance(error, _Malformed) else f"the file is not valid JSON: {error}")
        result.rejects.append(Reject(1, "unparseable_message", None, {"text": text, "error": reason}))
        result.rows_read = 1
        return False
    entry_rows = _rows_table(rows)  # noqa: F841
    # A replacement scan through `execute` (see hl7v2._temp_table for why not `register`).
    conn.execute(f"CREATE TEMP TABLE {source} AS SELECT * FROM entry_rows").fetchall()
    # each entry's resource as sent: a quarantined row's payload (see `read`)
    if document.get("resourceType") == "Bundle":
        sent = [(i + 1, json.dumps(e.get("resource") if isinstance(e, dict) else e))
                for i, e in enumerate(document.get("entry") or [])]
    else:
        sent = [(1, text)]
    as_sent = pa.table({"source_row": pa.array([r for r, _ in sent], pa.int64()),  # noqa: F841
                        "line": pa.array([t for _, t in sent], pa.string())})
    conn.execute(f"CREATE TEMP TABLE {payloads} AS SELECT * FROM as_sent").fetchall()
    return True


def _map_resources(conn, source: str, tag: str, result: ReaderResult) -> None:
    """The resources of `source` into one temp table per kind (static SQL in `sql/fhir_*.sql`)."""
    parsed = f"src_fhir_parsed_{tag}"
    paths = "[" + ", ".join(_sql_string(p) for p in _PATHS.values()) + "]"
    fields = ",\n                ".join(f"v[{i}] AS {name}" for i, name in enumerate(_PATHS, 1))
    dxa_seed = _sql_string(str(seed_path("dxa_codes")))
    tracked = "[" + ", ".join(_sql_string(c) for c in _tracked_loinc()) + "]"
    conn.execute(_sql(
        "fhir_parsed.sql", parsed=parsed, paths=paths, source=source, fields=fields, loinc=LOINC, snomed=SNOMED,
        codings_type=_sql_string(json.dumps(_CODINGS)), extensions_type=_sql_string(json.dumps(_EXTENSIONS)),
        identifiers_type=_sql_string(json.dumps(_IDENTIFIERS)), loinc_aliases=_in_list(LOINC_ALIASES),
        tracked=tracked, record_identifier=_RECORD_IDENTIFIER, dxa_seed=dxa_seed)).fetchall()

    rejected = conn.execute(_sql("fhir_rejected.sql", parsed=parsed, is_fracture=_is_fracture_sql())).fetchall()
    if rejected:  # the few rejected lines' text, for their quarantine payload
        lines = dict(conn.execute(f"SELECT source_row, line FROM {source} WHERE source_row IN "
                                  f"({', '.join(str(row) for row, _, _ in rejected)})").fetchall())
        for source_row, reason, detail in rejected:
            result.rejects.append(Reject(source_row, reason, "subject" if reason == "missing_subject" else None,
                                         _payload(lines[source_row], detail)))

    tables = {
        "patients": _sql("fhir_patients.sql", parsed=parsed, record_reference_value=_RECORD_REFERENCE_VALUE,
                         menopausal_status_url=MENOPAUSAL_STATUS_URL),
        "labs": _sql("fhir_labs.sql", loinc=LOINC, observation_status=_OBSERVATION_STATUS, parsed=parsed),
        "dxa": _sql("fhir_dxa.sql", parsed=parsed, loinc=LOINC, vital_columns=_vital_columns(),
                    vital_sign_codes=_in_list(VITAL_SIGNS), observation_status=_OBSERVATION_STATUS),
        "fractures": _sql("fhir_fractures.sql", parsed=parsed, fragility_url=FRAGILITY_URL,
                          fracture_status=_FRACTURE_STATUS, is_fracture=_is_fracture_sql()),
    }
    rows = 0
    for kind, query in tables.items():
        name = f"src_fhir_{kind}_{tag}"
        conn.execute(f"CREATE TEMP TABLE {name} AS {query}").fetchall()
        count = conn.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
        if count:
            result.batches.append(Batch(kind, name, numbers=STRICT_NUMBERS))
            rows += count
        else:
            conn.execute(f"DROP TABLE {name}").fetchall()
    identifiers = f"src_fhir_identifiers_{tag}"
    conn.execute(_sql("fhir_identifiers.sql", identifiers=identifiers, parsed=parsed,
                      record_reference=_RECORD_REFERENCE)).fetchall()
    result.identifiers = identifiers
    result.rows_skipped += conn.execute(_sql("fhir_skipped.sql", parsed=parsed, is_fracture=_is_fracture_sql(),
                                             resource_types_used=_in_list(RESOURCE_TYPES_USED))).fetchone()[0]
    result.rows_read = rows + len(result.rejects)
    conn.execute(f"DROP TABLE {parsed}").fetchall()


def _in_list(values) -> str:
    return "(" + sqltext.literal_list(values) + ")"


def _vital_columns() -> str:
    return ", ".join(
        f"max(q_value) FILTER (WHERE coding.code = '{code}' AND coalesce(q_code, q_unit) = '{unit}') AS {column}"
        for code, (column, unit) in VITAL_SIGNS.items())


def _is_fracture_sql() -> str:
    """Never NULL: a Condition without `code.coding` is no fracture, and so is counted as skipped."""
    return (f"coalesce(len(list_filter(codings, lambda c: c.system = '{SNOMED}' "
            f"AND lower(c.display) LIKE '%fracture%')) > 0 "
            f"OR (snomed IS NOT NULL AND coalesce(lower(code_text) LIKE '%fracture%', false)), false)")


def _payload(line: str, detail: str) -> dict[str, Any]:
    """The resource as a dict when it is JSON, else its text: the quarantine keeps it whole."""
    try:
        resource = json.loads(line)
    except ValueError:
        return {"line": line, "error": detail}
    if isinstance(resource, dict):
        return {"resource": resource, "error": detail}
    return {"line": line, "error": detail}
