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
    if not head.strip(b" \t\r\n\x00\x0b\x0c"):
        raise InputError(f"{path}: the file is empty (it holds {'nothing' if not head else 'only white space'}).")
    if head.startswith(b"PAR1"):
        return "parquet"
    if hl7v2.looks_like(head) or path.suffix.lower() in (".hl7", ".er7"):
        return "hl7v2"
    # A `.json` file that is no resource (a Bulk-FHIR manifest, say) is still the FHIR reader's
    # to skip or reject with a reason.
    if fhir.looks_like(path, head) or path.suffix.lower() in (".json", ".ndjson", ".jsonl"):
        return "fhir"
    if _binary(head) and not head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise InputError(f"{path}: a binary file that is neither Parquet, HL7 v2, FHIR nor a text export.")
    return "csv"


# Extensions that never hold an export: documents and images found beside the data in a folder
# (a README, the data-sharing agreement, a screenshot) are listed as "not a data file".
NOT_DATA_SUFFIXES = frozenset({
    ".md", ".markdown", ".rst", ".pdf", ".doc", ".docx", ".odt", ".rtf", ".pages", ".html", ".htm",
    ".png", ".jpg", ".jpeg", ".gif", ".bmp", ".tif", ".tiff", ".svg", ".webp", ".heic",
})


def is_export_manifest(head: bytes) -> bool:
    """A Bulk-FHIR `$export` manifest (`transactionTime`, `request`, `output`: a list of the
    NDJSON files), which describes an export rather than holding a resource."""
    text = head.lstrip(b"\xef\xbb\xbf").lstrip()
    return (text.startswith(b"{") and b'"resourceType"' not in text
            and b'"output"' in text and (b'"transactionTime"' in text or b'"request"' in text))


def _binary(head: bytes) -> bool:
    """NUL bytes in the first line, or more than random data would hold: a stray NUL in a row of
    a text export is that row's problem (quarantined with the rest of its line), not the file's."""
    first = head[:head.find(b"\n")] if b"\n" in head[:4096] else head[:4096]
    return b"\x00" in first or head.count(b"\x00") > len(head) // 512


def reader_for(fmt: str):
    """The reader module of a non-flat format."""
    return {"hl7v2": hl7v2, "fhir": fhir}[fmt]
