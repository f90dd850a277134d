"""Which reader a file needs, from its first bytes (and its name where bytes cannot tell).

Parquet starts with `PAR1`; HL7 v2 with `MSH`, `FHS` or `BHS` (after an optional byte-order
mark or MLLP start block) or is named `.hl7`/`.er7`; FHIR is JSON carrying `resourceType`;
anything else (UTF-16 text too, by its byte-order mark) is tried as a delimited text export and must then have a recognisable header.
"""
from __future__ import annotations

import codecs
from pathlib import Path

from ..errors import InputError
from . import fhir, hl7v2


def detect(path: Path, head: bytes) -> str:
    if not head:
        raise InputError(f"{path}: the file is empty.")
    if head.startswith(b"PAR1"):
        return "parquet"
    if hl7v2.looks_like(head) or path.suffix.lower() in (".hl7", ".er7"):
        return "hl7v2"
    # A `.json` file that is no resource (a Bulk-FHIR manifest, say) is still the FHIR reader's
    # to skip or reject with a reason.
    if fhir.looks_like(path, head) or path.suffix.lower() in (".json", ".ndjson", ".jsonl"):
        return "fhir"
    if b"\x00" in head and not head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise InputError(f"{path}: a binary file that is neither Parquet, HL7 v2, FHIR nor a text export.")
    return "csv"


def reader_for(fmt: str):
    """The reader module of a non-flat format."""
    return {"hl7v2": hl7v2, "fhir": fhir}[fmt]
