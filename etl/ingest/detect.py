"""Which reader a file needs, from its first bytes (and its name where bytes cannot tell).

Parquet starts with `PAR1`; HL7 v2 with `MSH`, `FHS` or `BHS` (after an optional byte-order
mark or MLLP start block) or is named `.hl7`/`.er7`; FHIR is JSON carrying `resourceType`;
anything else is tried as a delimited text export and must then have a recognisable header.
"""
from __future__ import annotations

from importlib import import_module
from pathlib import Path

from ..errors import InputError
from . import hl7v2

_BOM = b"\xef\xbb\xbf"
_MLLP_START = b"\x0b"


def detect(path: Path, head: bytes) -> str:
    if not head:
        raise InputError(f"{path}: the file is empty.")
    if head.startswith(b"PAR1"):
        return "parquet"
    if hl7v2.looks_like(head) or path.suffix.lower() in (".hl7", ".er7"):
        return "hl7v2"
    text = head[len(_BOM):] if head.startswith(_BOM) else head
    stripped = text.lstrip(_MLLP_START + b" \r\n\t")
    if stripped.startswith((b"{", b"[")) or path.suffix.lower() in (".json", ".ndjson"):
        if b"resourceType" in head or path.suffix.lower() in (".json", ".ndjson"):
            return "fhir"
    if b"\x00" in head:
        raise InputError(f"{path}: a binary file that is neither Parquet, HL7 v2, FHIR nor a text export.")
    return "csv"


def reader_for(fmt: str):
    """The reader module of a non-flat format, imported only when such a file is met."""
    modules = {"hl7v2": "etl.ingest.hl7v2", "fhir": "etl.ingest.fhir"}
    try:
        return import_module(modules[fmt])
    except ModuleNotFoundError as error:
        raise InputError(f"This installation cannot read {fmt} files ({error}).") from None
