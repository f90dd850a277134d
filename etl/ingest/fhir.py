"""FHIR R4 reader (contract section 4): JSON Bundles / single resources and Bulk-FHIR NDJSON.

Both shapes go through one set-based mapping in DuckDB: every resource becomes a line of JSON text
with its `source_row` (NDJSON: the line number; Bundle: the entry index + 1), is parsed once
(`json_extract_string` with the list of paths the registry uses), and is projected into the
canonical kinds with SQL. NDJSON never passes through Python row by row; a JSON file is small enough to be
loaded by Python, which only resolves the Bundle's `fullUrl` and contained-Patient references
(a Bundle-level fact) before handing its entries to the same SQL.

Choices (documented in the report and the contract's spirit):
- A Patient's id is `Patient.id`; a Patient without id (transaction Bundles) uses its first
  identifier value, else its `urn:uuid:` fullUrl. A contained Patient uses its first identifier
  value (its own id is only local to the container).
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

from ..paths import SEEDS_DIR
from .canonical import Batch, ReaderResult, Reject
from .numbers import STRICT_NUMBERS

MENOPAUSAL_STATUS_URL = "https://osteoreg.org/fhir/StructureDefinition/menopausal-status"
FRAGILITY_URL = "https://osteoreg.org/fhir/StructureDefinition/fracture-fragility"
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
RESOURCE_TYPES_USED = ("Patient", "Observation", "Condition", "Procedure")
# US Core vital signs (LOINC, UCUM unit) that the dxa kind carries: height and weight measured on
# a scan's date go onto that date's DXA rows (the Observations themselves also load as results).
VITAL_SIGNS = {"8302-2": ("height_cm", "cm"), "29463-7": ("weight_kg", "kg")}

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
    "gender": "$.gender", "birth_date": "$.birthDate", "identifier_value": "$.identifier[0].value",
    "onset_date_time": "$.onsetDateTime", "onset_period_start": "$.onsetPeriod.start",
    "recorded_date": "$.recordedDate", "performed_date_time": "$.performedDateTime",
    "performed_period_start": "$.performedPeriod.start",
    "verification_status": "$.verificationStatus.coding[0].code",
    "body_site_text": "$.bodySite[0].text", "body_site_display": "$.bodySite[0].coding[0].display",
    "extension_json": "$.extension",
}
_CODINGS = [{"system": "VARCHAR", "code": "VARCHAR", "display": "VARCHAR"}]
_EXTENSIONS = [{"url": "VARCHAR", "valueCoding": {"system": "VARCHAR", "code": "VARCHAR"},
                "valueCode": "VARCHAR", "valueBoolean": "VARCHAR",
                "extension": [{"url": "VARCHAR", "valueString": "VARCHAR"}]}]

# FHIR status -> HL7 table 0085 letter (contract section 7). Anything else stays as written, so
# the loader quarantines it as `invalid_status`.
_OBSERVATION_STATUS = """CASE status
    WHEN 'final' THEN 'F' WHEN 'amended' THEN 'A' WHEN 'corrected' THEN 'C'
    WHEN 'preliminary' THEN 'P' WHEN 'registered' THEN 'I' WHEN 'entered-in-error' THEN 'D'
    WHEN 'cancelled' THEN 'X' ELSE status END"""
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
    except ValueError:
        return False
    return bool(second.strip())


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def read(path: Path, conn) -> ReaderResult:
    """One file into temp tables on `conn` (one per kind); their names are the batches' tables."""
    path = Path(path)
    tag = uuid.uuid4().hex[:12]
    source = f"src_fhir_source_{tag}"
    if _is_ndjson(path):
        result = ReaderResult(format="fhir_ndjson")
        _ndjson_source(path, conn, source, tag)
    else:
        result = ReaderResult(format="fhir_json")
        if not _json_source(path, conn, source, result):
            return result
    _map_resources(conn, source, tag, result)
    for leftover in (f"src_fhir_source_{tag}", f"src_fhir_lines_{tag}"):
        kind = conn.execute("SELECT table_type FROM information_schema.tables WHERE table_catalog = 'temp' "
                            "AND table_name = ?", [leftover]).fetchall()
        if kind:
            conn.execute(f"DROP {'VIEW' if kind[0][0] == 'VIEW' else 'TABLE'} {leftover}").fetchall()
    return result


def _ndjson_source(path: Path, conn, source: str, tag: str) -> None:
    """Lines as text in file order. DuckDB keeps insertion order on CREATE TABLE AS, so a fresh
    temp table's row ids run consecutively in file order; inside the loader's transaction they
    start at a transaction-local base, hence the line number is rowid - min(rowid) + 1."""
    lines = f"src_fhir_lines_{tag}"
    conn.execute("SET preserve_insertion_order = true")  # set here: the loader may have turned it off
    conn.execute(f"""
        CREATE TEMP TABLE {lines} AS
        SELECT line FROM read_csv({_sql_string(str(path))}, columns = {{'line': 'VARCHAR'}},
            header = false, delim = '\x01', quote = '', escape = '', auto_detect = false,
            strict_mode = false, max_line_size = 1073741824)""").fetchall()
    # A view, not a copy: the lines are scanned once, by the extraction.
    conn.execute(f"""
        CREATE TEMP VIEW {source} AS
        SELECT rowid - (SELECT min(rowid) FROM {lines}) + 1 AS source_row, line FROM {lines}
        WHERE line IS NOT NULL AND (left(line, 1) NOT IN (' ', '\t', '\r') OR trim(line) <> '')""").fetchall()


def _patient_id(resource: dict, full_url: str | None = None) -> str | None:
    if resource.get("id"):
        return str(resource["id"])
    for identifier in resource.get("identifier") or []:
        if isinstance(identifier, dict) and identifier.get("value"):
            return str(identifier["value"])
    if full_url and full_url.startswith("urn:uuid:"):
        return full_url[len("urn:uuid:"):]
    return None


def _json_source(path: Path, conn, source: str, result: ReaderResult) -> bool:
    """Entries of a Bundle (or the one resource) with their references resolved to Patient ids.
    Returns False when there is nothing to map: a file that is not JSON (quarantined whole) or a
    Bulk Data manifest (skipped)."""
    import pyarrow as pa

    text = path.read_bytes().decode("utf-8-sig", errors="replace")
    try:
        document = json.loads(text)
    except ValueError as error:
        result.rejects.append(Reject(1, "unparseable_message", None,
                                     {"text": text, "error": f"the file is not valid JSON: {error}"}))
        result.rows_read = 1
        return False
    if isinstance(document, dict) and "resourceType" not in document and "output" in document \
            and "transactionTime" in document:
        result.rows_skipped = 1  # a Bulk Data export manifest: it lists files, it holds no resources
        return False
    if isinstance(document, dict) and document.get("resourceType") == "Bundle":
        entries = [(index + 1, entry.get("resource") if isinstance(entry, dict) else entry,
                    entry.get("fullUrl") if isinstance(entry, dict) else None)
                   for index, entry in enumerate(document.get("entry") or [])]
    else:
        entries = [(1, document, None)]

    references: dict[str, str] = {}
    for _, resource, full_url in entries:
        if isinstance(resource, dict) and resource.get("resourceType") == "Patient":
            patient_id = _patient_id(resource, full_url)
            if patient_id is None:
                continue
            if full_url:
                references[full_url] = patient_id
            if resource.get("id"):
                references[f"Patient/{resource['id']}"] = patient_id

    rows: list[tuple[int, str]] = []
    for row, resource, full_url in entries:
        if resource is None:
            result.rows_skipped += 1  # e.g. a transaction DELETE entry: a request, no resource
            continue
        if isinstance(resource, dict):
            local: dict[str, str] = {}
            for contained in resource.get("contained") or []:
                if isinstance(contained, dict) and contained.get("resourceType") == "Patient":
                    patient_id = _patient_id({k: v for k, v in contained.items() if k != "id"}) \
                        or contained.get("id")
                    if patient_id:
                        local[f"#{contained.get('id')}"] = patient_id
                        rows.append((row, json.dumps({**contained, "id": patient_id})))
            subject = resource.get("subject")
            if isinstance(subject, dict) and isinstance(subject.get("reference"), str):
                target = local.get(subject["reference"]) or references.get(subject["reference"])
                if target is not None:
                    resource = {**resource, "subject": {**subject, "reference": f"Patient/{target}"}}
            if resource.get("resourceType") == "Patient" and not resource.get("id"):
                resource = {**resource, "id": _patient_id(resource, full_url)}
        rows.append((row, json.dumps(resource)))
    entry_rows = pa.table({"source_row": pa.array([r for r, _ in rows], pa.int64()),  # noqa: F841
                           "line": pa.array([line for _, line in rows], pa.string())})
    # A replacement scan through `execute` (see hl7v2._temp_table for why not `register`).
    conn.execute(f"CREATE TEMP TABLE {source} AS SELECT * FROM entry_rows").fetchall()
    return True


def _map_resources(conn, source: str, tag: str, result: ReaderResult) -> None:
    parsed = f"src_fhir_parsed_{tag}"
    paths = "[" + ", ".join(_sql_string(p) for p in _PATHS.values()) + "]"
    fields = ",\n                ".join(f"v[{i}] AS {name}" for i, name in enumerate(_PATHS, 1))
    dxa_seed = _sql_string(str(SEEDS_DIR / "dxa_codes.csv"))
    conn.execute(f"""
        CREATE TEMP TABLE {parsed} AS
        WITH extracted AS (
            -- TRY: a line that is not JSON gives NULL (only its chunk is re-run row by row)
            SELECT source_row, TRY(json_extract_string(line, {paths})) AS v FROM {source}
        ), flat AS (
            SELECT source_row, v IS NOT NULL AS is_json,
                {fields}
            FROM extracted
        ), coded AS (
            SELECT * EXCLUDE (coding_json, extension_json),
                coalesce(effective_date_time, effective_period_start, effective_instant) AS effective,
                json_transform(coding_json, {_sql_string(json.dumps(_CODINGS))}) AS codings,
                CASE WHEN resource_type IN ('Patient', 'Condition', 'Procedure')
                     THEN json_transform(extension_json, {_sql_string(json.dumps(_EXTENSIONS))}) END AS extensions,
                CASE WHEN subject_reference LIKE 'urn:uuid:%' THEN substr(subject_reference, 10)
                     ELSE nullif(regexp_extract(subject_reference, '(?:^|/)Patient/([^/]+)', 1), '')
                END AS subject_id
            FROM flat
        ), primary_coding AS (
            SELECT *,
                coalesce(list_filter(codings, lambda c: c.system = '{LOINC}')[1], codings[1]) AS coding,
                list_filter(codings, lambda c: c.system = '{SNOMED}')[1] AS snomed
            FROM coded
        )
        SELECT p.*, d.site AS dxa_site, d.side AS dxa_side, d.measure AS dxa_measure
        FROM primary_coding p
        LEFT JOIN read_csv({dxa_seed}, all_varchar = true) d
          ON p.resource_type = 'Observation' AND p.coding.system = '{LOINC}' AND p.coding.code = d.loinc_code
    """).fetchall()

    rejected = conn.execute(f"""
        SELECT source_row,
               CASE WHEN resource_type IS NULL THEN 'unparseable_message' ELSE 'missing_subject' END,
               CASE WHEN NOT is_json THEN 'the line is not JSON'
                    WHEN resource_type IS NULL THEN 'the line is not a JSON object with a resourceType'
                    ELSE 'the ' || resource_type || ' has no Patient subject reference' END
        FROM {parsed}
        WHERE resource_type IS NULL
           OR (resource_type IN ('Observation', 'Condition', 'Procedure') AND subject_id IS NULL
               AND (resource_type = 'Observation' OR {_is_fracture_sql()}))
        ORDER BY source_row""").fetchall()
    if rejected:  # the few rejected lines' text, for their quarantine payload
        lines = dict(conn.execute(f"SELECT source_row, line FROM {source} WHERE source_row IN "
                                  f"({', '.join(str(row) for row, _, _ in rejected)})").fetchall())
        for source_row, reason, detail in rejected:
            result.rejects.append(Reject(source_row, reason, "subject" if reason == "missing_subject" else None,
                                         _payload(lines[source_row], detail)))

    tables = {
        "patients": f"""
            SELECT source_row, coalesce(id, identifier_value) AS patient_id,
                coalesce(
                    CASE list_filter(extensions, lambda e: e.url LIKE '%/us-core-individual-sex')[1].valueCoding.code
                        WHEN '248152002' THEN 'female' WHEN '248153007' THEN 'male' END,
                    CASE list_filter(extensions, lambda e: e.url LIKE '%/us-core-birthsex')[1].valueCode
                        WHEN 'F' THEN 'female' WHEN 'M' THEN 'male' END,
                    gender) AS sex,
                birth_date,
                list_filter(extensions, lambda e: e.url = '{MENOPAUSAL_STATUS_URL}')[1].valueCode AS menopausal_status,
                list_filter(list_filter(extensions, lambda e: e.url LIKE '%/us-core-ethnicity')[1].extension,
                            lambda e: e.url = 'text')[1].valueString AS ethnicity
            FROM {parsed} WHERE resource_type = 'Patient'""",
        "labs": f"""
            SELECT source_row, subject_id AS patient_id,
                effective AS collected_at,
                coding.code AS code,
                coalesce(q_comparator, '') || coalesce(q_value, value_string) AS value,
                coalesce(q_code, q_unit) AS unit,
                CASE WHEN coding.system = '{LOINC}' THEN 'LOINC' ELSE coding.system END AS code_system,
                coalesce(code_text, coding.display) AS name,
                coalesce(range_text, CASE WHEN range_low IS NOT NULL OR range_high IS NOT NULL
                                          THEN coalesce(range_low, '') || '-' || coalesce(range_high, '') END)
                    AS reference_range,
                coalesce(interpretation_code, interpretation_text) AS abnormal_flag,
                {_OBSERVATION_STATUS} AS status,
                id AS result_id
            FROM {parsed}
            WHERE resource_type = 'Observation' AND subject_id IS NOT NULL AND dxa_site IS NULL""",
        # One row per DXA Observation, the measure in its column: the dbt identity of a DXA
        # result is its resource id, so a corrected or entered-in-error Observation replaces or
        # removes exactly its own measure; int_dxa_scans_pivoted groups them into scans by
        # patient and scan date.
        "dxa": f"""
            WITH vitals AS (
                SELECT subject_id, left(effective, 10) AS day,
                    {_vital_columns()}
                FROM {parsed}
                WHERE resource_type = 'Observation' AND coding.system = '{LOINC}'
                  AND coding.code IN {tuple(VITAL_SIGNS)}
                GROUP BY ALL
            )
            SELECT source_row, p.subject_id AS patient_id,
                effective AS scan_date,
                dxa_site AS site,
                CASE WHEN dxa_measure = 't_score' THEN q_value END AS t_score,
                dxa_side AS side,
                CASE WHEN dxa_measure = 'bmd_g_cm2' THEN q_value END AS bmd_g_cm2,
                CASE WHEN dxa_measure = 'z_score' THEN q_value END AS z_score,
                vitals.height_cm, vitals.weight_kg,
                {_OBSERVATION_STATUS} AS status,
                id AS result_id
            FROM {parsed} AS p
            LEFT JOIN vitals ON vitals.subject_id = p.subject_id AND vitals.day = left(p.effective, 10)
            WHERE resource_type = 'Observation' AND p.subject_id IS NOT NULL AND dxa_site IS NOT NULL""",
        "fractures": f"""
            SELECT source_row, subject_id AS patient_id,
                coalesce(onset_date_time, onset_period_start, recorded_date,
                         performed_date_time, performed_period_start) AS fracture_date,
                coalesce(body_site_text, body_site_display, code_text, snomed.display) AS site,
                list_filter(extensions, lambda e: e.url = '{FRAGILITY_URL}')[1].valueBoolean AS fragility,
                coalesce(snomed.code, coding.code) AS code,
                CASE WHEN snomed.code IS NOT NULL THEN 'SNOMED' ELSE coding.system END AS code_system,
                {_FRACTURE_STATUS} AS status,
                id AS result_id
            FROM {parsed}
            WHERE resource_type IN ('Condition', 'Procedure') AND subject_id IS NOT NULL
              AND {_is_fracture_sql()}""",
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
    result.rows_skipped += conn.execute(f"""
        SELECT count(*) FROM {parsed}
        WHERE resource_type IS NOT NULL
          AND (resource_type NOT IN {RESOURCE_TYPES_USED}
               OR (resource_type IN ('Condition', 'Procedure') AND NOT {_is_fracture_sql()}))
    """).fetchone()[0]
    result.rows_read = rows + len(result.rejects)
    conn.execute(f"DROP TABLE {parsed}").fetchall()


def _vital_columns() -> str:
    return ", ".join(
        f"max(q_value) FILTER (WHERE coding.code = '{code}' AND coalesce(q_code, q_unit) = '{unit}') AS {column}"
        for code, (column, unit) in VITAL_SIGNS.items())


def _is_fracture_sql() -> str:
    return (f"(len(list_filter(codings, lambda c: c.system = '{SNOMED}' "
            f"AND lower(c.display) LIKE '%fracture%')) > 0 "
            f"OR (snomed IS NOT NULL AND coalesce(lower(code_text) LIKE '%fracture%', false)))")


def _payload(line: str, detail: str) -> dict[str, Any]:
    """The resource as a dict when it is JSON, else its text: the quarantine keeps it whole."""
    try:
        resource = json.loads(line)
    except ValueError:
        return {"line": line, "error": detail}
    if isinstance(resource, dict):
        return {"resource": resource, "error": detail}
    return {"line": line, "error": detail}
