"""The canonical kinds every reader produces (contract section 2), as text columns.

A reader (flat file, HL7 v2, FHIR) knows formats, not rules: it turns a file into batches of these
columns, all VARCHAR exactly as the source wrote them, plus `source_row`. Typing, validation,
quarantine and de-duplication happen once, in SQL, in `etl.ingest.loader`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .numbers import FLAT_NUMBERS, Numbers

# `patient_id_namespace`: the namespace of `patient_id` (HL7 CX.4, FHIR identifier.system, a
# profile's namespace; contract section 2a). `reported_at`: the source's time of this version
# (HL7 MSH-7/OBX-19, FHIR meta.lastUpdated or issued); `version_seq`: its order where the source
# gives only an order (a FHIR history Bundle); both decide which version is current (section 5).
_IDENTITY_AND_VERSION = ["patient_id_namespace", "reported_at", "version_seq"]

# Column order is the order of the canonical staging tables. `required` columns must be present in
# a flat file's header for the file to be recognised as that kind.
KINDS: dict[str, dict[str, list[str]]] = {
    "patients": {
        "required": ["patient_id", "sex", "birth_date"],
        "optional": ["menopausal_status", "ethnicity", "menopausal_status_date", "patient_id_namespace"],
    },
    "labs": {
        "required": ["patient_id", "collected_at", "code", "value", "unit"],
        "optional": ["code_system", "name", "reference_range", "abnormal_flag", "status",
                     "accession_id", "result_id", "loinc_code", *_IDENTITY_AND_VERSION],
    },
    "dxa": {
        "required": ["patient_id", "scan_date", "site", "t_score"],
        "optional": ["side", "bmd_g_cm2", "z_score", "bmc_g", "area_cm2", "manufacturer",
                     "height_cm", "weight_kg", "status", "result_id", "menopausal_status",
                     "bmd_unit", "t_score_unit", "z_score_unit", *_IDENTITY_AND_VERSION],
    },
    "fractures": {
        "required": ["patient_id", "fracture_date", "site"],
        "optional": ["fragility", "code", "code_system", "status", "result_id", *_IDENTITY_AND_VERSION],
    },
}

# `result_id` (a FHIR resource id) and `loinc_code` (a LOINC code a reader already resolved, e.g.
# from a FHIR coding next to a local one) are filled by HL7/FHIR readers; flat files may carry them.
# `bmd_unit`, `t_score_unit`, `z_score_unit`: the unit a DXA measure was sent in (FHIR
# valueQuantity, HL7 OBX-6); empty means the stored unit (seed dxa_units).


def columns(kind: str) -> list[str]:
    spec = KINDS[kind]
    return spec["required"] + spec["optional"]


@dataclass
class Reject:
    """A message or resource that a reader could not turn into rows (quarantined whole)."""

    source_row: int | None
    reason: str
    field: str | None
    payload: dict[str, Any]


@dataclass
class Batch:
    """Rows of one kind from one file: `table` is the name of a DuckDB temp table or view (named
    `src_*`, so the loader drops it after the file) on the loader's connection, with `source_row` (BIGINT, unless `first_row` is set)
    and the kind's canonical columns as VARCHAR (absent optional columns may be left out), plus optionally `extra` (JSON
    text of source columns the registry does not use). `date_formats` are strptime formats tried
    after ISO 8601 (from a source profile)."""

    kind: str
    table: str
    date_formats: list[str] = field(default_factory=list)
    # Set when `table` has no `source_row` and yields its rows in file order (a view straight over
    # `read_csv`): the loader numbers them from this line on, by their order in its typed stage
    # (records, not physical lines: a quoted value spanning lines counts once).
    first_row: int | None = None
    # How the source writes numbers (decimal comma rules, contract section 2); HL7 and FHIR
    # readers set `STRICT_NUMBERS`: their numbers never carry a comma.
    numbers: Numbers = FLAT_NUMBERS
    # With `first_row`: the DuckDB rejects table of the CSV scan behind `table` (lines that could
    # not be split into the header's columns), which the loader quarantines as `malformed_row`.
    rejects: str | None = None
    # A temp table or view (source_row, line) of the text each source row was read from, where
    # that is more than the row (a FHIR resource): a quarantined row keeps it as its payload,
    # `{"resource": ...}`, instead of its flattened columns.
    payloads: str | None = None


@dataclass
class ReaderResult:
    format: str                       # csv, tsv, parquet, hl7v2, fhir_json, fhir_ndjson
    batches: list[Batch] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    rows_read: int = 0                # rows, messages' result rows or resources read from the file
    rows_skipped: int = 0             # resources of types the registry does not use (FHIR), counted
    profile: str | None = None
    scratch: list = field(default_factory=list)  # temporary files the loader removes after the file
    # A temp table of every patient identifier the file named (HL7 PID-3 repetitions, FHIR
    # Patient.identifier and logical ids): namespace, id_type, id_value, reference (the string raw
    # rows use for it, if any) and patient_id (the record reference of the patient it belongs to).
    identifiers: str | None = None
