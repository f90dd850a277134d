"""Flat exports (CSV, TSV, Parquet): recognise the kind from the header, expose canonical text columns.

The file is never read row by row in Python: the reader creates a DuckDB view over `read_csv`
(every column as text) or `read_parquet`, renaming the source's columns to the canonical ones and
applying a source profile's constants, value maps, local codes and default units. The view is
join-free, so its rows come in file order and the loader can number them by their line.
"""
from __future__ import annotations

import codecs
import csv
import os
import re
import shutil
import tempfile
from pathlib import Path

import duckdb

from ..errors import InputError
from .canonical import KINDS, Batch, ReaderResult, columns
from .numbers import FLAT_NUMBERS
from .profiles import KindMapping, Profile

PARQUET_MAGIC = b"PAR1"
_DELIMITERS = [",", "\t", ";", "|"]


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _decode(head: bytes) -> str:
    """The start of a text export as text, before its encoding is known: UTF-16 by its byte-order
    mark, else UTF-8, else latin-1 (which reads any bytes), so header names can be matched."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return head.decode("utf-16", errors="replace")
    try:
        return head.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        if error.start > len(head) - 4:  # a character cut at the end of the sniffed block
            return head[:error.start].decode("utf-8-sig")
        return head.decode("latin-1")


def sniff_header(path: Path, head: bytes, delimiter: str | None) -> tuple[str, list[str], set[str]]:
    """The delimiter, the header's column names and the names it repeats, from the first line.

    Real exports have headers DuckDB cannot take as they are: a trailing delimiter (an empty
    name), a name sent twice, a quoted name holding the delimiter. Empty names become `columnN`
    and repeats get a suffix (`note_2`), so the file still loads with those columns in `extra`;
    the loader refuses a repeated name only where it would be read as a registry column.
    """
    lines = re.split(r"\r\n|\r|\n", _decode(head), maxsplit=1)
    first = lines[0].lstrip("\ufeff")
    if not first.strip():
        raise InputError(f"{path} line 1: the file has no header (its first line is blank or it holds only "
                         "white space); a flat export needs a header row.")
    if delimiter is None:
        delimiter = max(_DELIMITERS, key=first.count)
    sent = [n.strip() for n in next(csv.reader([first], delimiter=delimiter, quotechar='"'))]
    names: list[str] = []
    seen: dict[str, int] = {}
    repeated: set[str] = set()
    for position, name in enumerate(sent, 1):
        name = name or f"column{position}"
        key = name.lower()
        seen[key] = seen.get(key, 0) + 1
        if seen[key] > 1:
            repeated.add(key)
            name = f"{name}_{seen[key]}"
        names.append(name)
    return delimiter, names, repeated


def recognise(path: Path, header: list[str], profiles: list[Profile]) -> tuple[KindMapping, Profile | None]:
    """Canonical headers first (the contract's required columns), then the profiles in order."""
    lowered = {h.lower() for h in header}
    candidates = [k for k, spec in KINDS.items() if all(c in lowered for c in spec["required"])]
    if candidates:
        kind = max(candidates, key=lambda k: len(KINDS[k]["required"]))
        return KindMapping(kind, KINDS[kind]["required"], {c: c for c in columns(kind) if c in lowered}), None
    for profile in profiles:
        mapping = profile.mapping_for(header)
        if mapping is not None:
            return mapping, profile
    raise InputError(
        f"{path} line 1: the header ({_header_summary(header)}) is not a patients, labs, dxa or fractures "
        "export (contract section 2) and matches no source profile; name one with --profile."
    )


def _header_summary(header: list[str]) -> str:
    """What a header has and lacks, naming only registry columns: a file without a header has a
    data row in its place, and its values (names, ids, dates) must not reach a message."""
    lowered = {h.strip().lower() for h in header}
    known = [c for c in dict.fromkeys(c for kind in KINDS for c in columns(kind)) if c in lowered]
    count = f"{len(header)} column{'' if len(header) == 1 else 's'}"
    if not known:
        return f"{count}, none of them a registry column"
    return f"{count}; registry columns: {', '.join(known)}"


def header_recognised(path: Path, head: bytes, profiles: list[Profile]) -> bool:
    """Whether the first line of a text file is a registry or profile header (for files whose
    name does not say they hold data, such as `.txt`)."""
    try:
        _, header, _ = sniff_header(path, head, None)
        recognise(path, header, profiles)
    except (InputError, csv.Error):
        return False
    return True


def _source_sql(path: Path, fmt: str, delimiter: str, header: list[str], encoding: str | None = None,
                rejects: str | None = None) -> str:
    if fmt == "parquet":
        return f"read_parquet({_literal(str(path))}, file_row_number = true)"
    # The header was read already; naming every column VARCHAR keeps DuckDB from guessing types.
    names = ", ".join(f"{_literal(c)}: 'VARCHAR'" for c in header)
    encoded = f", encoding = {_literal(encoding)}" if encoding and encoding != "utf-8" else ""
    # Lines DuckDB cannot split into the header's columns (ragged rows, an unclosed quote, bytes
    # that are not the encoding, a line over the size limit) go to a rejects table with their line
    # number and text instead of failing the file; the loader quarantines them as `malformed_row`.
    kept = (f", store_rejects = true, rejects_table = {_literal(rejects)}, "
            f"rejects_scan = {_literal(rejects + '_scan')}") if rejects else ""
    return (f"read_csv({_literal(str(path))}, header = true, delim = {_literal(delimiter)}, quote = '\"', "
            f"escape = '\"', auto_detect = false, columns = {{{names}}}{encoded}{kept})")


def _line_endings_mixed(path: Path) -> bool:
    """Whether a text file ends its lines in more than one way (CRLF, LF, CR): DuckDB's strict
    CSV reader stops on such a file, and its lenient one silently drops surplus fields."""
    crlf = cr = lf = 0
    previous = b""
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            crlf += block.count(b"\r\n") + (previous == b"\r" and block[:1] == b"\n")
            cr += block.count(b"\r")
            lf += block.count(b"\n")
            previous = block[-1:]
    return (cr > crlf and lf > 0) or (0 < crlf < lf)


def _normalised_copy(path: Path, encoding: str) -> Path:
    """A UTF-8 copy of the file with every line ending as LF, line for line, so the reader sees
    the same records in the same lines (bytes that are not `encoding` pass through unchanged and
    are rejected line by line as they would be in the original)."""
    handle, name = tempfile.mkstemp(prefix="osteoreg-", suffix=".csv")
    os.close(handle)
    target = Path(name)
    errors = "replace" if encoding == "utf-16" else "surrogateescape"
    out_errors = "strict" if encoding == "utf-16" else "surrogateescape"
    with path.open("r", encoding=encoding, errors=errors, newline=None) as source, \
            target.open("w", encoding="utf-8", errors=out_errors, newline="\n") as out:
        shutil.copyfileobj(source, out, 1 << 20)
    return target


def read(path: Path, conn: duckdb.DuckDBPyConnection, head: bytes, profiles: list[Profile],
         forced: Profile | None = None) -> ReaderResult:
    """Create the canonical view for one flat file; the loader types and validates it."""
    fmt = "parquet" if head.startswith(PARQUET_MAGIC) else None
    delimiter = (forced.delimiter if forced else None)
    if fmt == "parquet":
        try:
            header = [r[0] for r in conn.execute(
                f"DESCRIBE SELECT * FROM read_parquet({_literal(str(path))})").fetchall()]
            repeated = set()
        except duckdb.Error as error:
            raise InputError(f"{path}: not a readable Parquet file ({str(error).splitlines()[0]}).") from None
    else:
        delimiter, header, repeated = sniff_header(path, head, delimiter)
        fmt = "tsv" if delimiter == "\t" else "csv"
    order = ([forced] if forced else []) + [p for p in profiles if p is not forced]
    mapping, profile = recognise(path, header, order)

    by_lower = {h.lower(): h for h in header}
    view = f"src_{abs(hash(str(path))) % 10**12}"
    scratch: list[Path] = []
    rejects = None
    if fmt == "parquet":
        rows, first_row = (f"(SELECT *, file_row_number + 1 AS __source_row "
                           f"FROM {_source_sql(path, fmt, delimiter, header)})"), None
    else:
        # DuckDB's CSV reader has no row number; the loader numbers rows by their order instead
        # (line 1 is the header, so the first data row is line 2).
        # a UTF-16 byte-order mark is unambiguous; other encodings are named in a profile
        named = forced or profile
        bom_utf16 = head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
        encoding = (named.encoding if named else None) or ("utf-16" if bom_utf16 else None)
        read_from = path
        # DuckDB reads UTF-16 little-endian only, and stops on mixed line endings: such files are
        # read from a normalised UTF-8 copy (the loader removes it; rows keep their lines).
        if head.startswith(codecs.BOM_UTF16_BE) or (encoding != "utf-16" and _line_endings_mixed(path)):
            read_from = _normalised_copy(path, "utf-16" if head.startswith(codecs.BOM_UTF16_BE)
                                         else "latin-1" if encoding == "latin-1" else "utf-8")
            scratch.append(read_from)
            encoding = None
        rejects = f"{view}_rejects"
        rows, first_row = _source_sql(read_from, fmt, delimiter, header, encoding, rejects), 2

    used: set[str] = set()
    exprs: dict[str, str] = {}
    for canonical in columns(mapping.kind):
        expr = None
        source_name = mapping.columns.get(canonical)
        if source_name is not None:
            actual = by_lower.get(source_name.lower())
            if actual is None:
                if canonical in KINDS[mapping.kind]["required"] and canonical not in mapping.constants:
                    raise InputError(f"{path} line 1: the header has no column {source_name!r} for {canonical}.")
            elif actual.lower() in repeated:
                raise InputError(f"{path} line 1: the header names column {actual!r} more than once, "
                                 f"so which one holds {canonical} is ambiguous.")
            else:
                used.add(actual)
                expr = f"CAST(src.{_quote(actual)} AS VARCHAR)"
        if canonical in mapping.values and expr is not None:
            cases = " ".join(f"WHEN {_literal(k.lower())} THEN {_literal(v)}" for k, v in mapping.values[canonical].items())
            expr = f"CASE lower(trim({expr})) {cases} ELSE {expr} END"
        if canonical in mapping.constants:
            constant = _literal(mapping.constants[canonical])
            expr = f"coalesce(nullif(trim({expr}), ''), {constant})" if expr else constant
        if expr is not None:
            exprs[canonical] = expr

    if mapping.kind == "labs" and profile is not None and (profile.local_codes or profile.default_units):
        _profile_codes(profile, exprs)

    extras = [h for h in header if h not in used]
    if extras:
        pairs = ", ".join(f"{_literal(h)}, CAST(src.{_quote(h)} AS VARCHAR)" for h in extras)
        exprs["extra"] = f"json_object({pairs})"
    numbered = ["src.__source_row AS source_row"] if first_row is None else []
    select = ", ".join(numbered + [f"{e} AS {name}" for name, e in exprs.items()])
    conn.execute(f"CREATE OR REPLACE TEMP VIEW {view} AS SELECT {select} FROM {rows} AS src")
    numbers = profile.numbers if profile else FLAT_NUMBERS
    return ReaderResult(format=fmt, batches=[Batch(mapping.kind, view, mapping.date_formats, first_row, numbers,
                                                   rejects)],
                        profile=profile.name if profile else None, scratch=scratch)


def _profile_codes(profile: Profile, exprs: dict[str, str]) -> None:
    """Local codes to LOINC (with their unit when the export leaves it out) and default units per
    LOINC code, as CASE expressions over the code; rewrites `exprs` for unit and loinc_code."""
    code = f"trim({exprs['code']})"
    loinc = _case(code, {c: t["loinc"] for c, t in profile.local_codes.items()})
    local_unit = _case(code, {c: t["unit"] for c, t in profile.local_codes.items() if t["unit"]})
    default_unit = _case(f"coalesce({loinc}, {code})", profile.default_units)
    sent_unit = f"nullif(trim({exprs['unit']}), '')" if "unit" in exprs else "NULL"
    exprs["unit"] = f"coalesce({sent_unit}, {local_unit}, {default_unit})"
    exprs["loinc_code"] = loinc


def _case(expr: str, mapping: dict[str, str]) -> str:
    if not mapping:
        return "NULL::VARCHAR"
    cases = " ".join(f"WHEN {_literal(k)} THEN {_literal(v)}" for k, v in mapping.items())
    return f"CASE {expr} {cases} END"


def without_values(text: str) -> str:
    """An error text with anything quoted left out: DuckDB quotes the values it could not read,
    and a value may be a name or a birth date."""
    return re.sub(r'"[^"]*"|\'[^\']*\'', "(value left out)", text)


def describe_error(path: Path, error: Exception) -> str | None:
    """DuckDB's CSV errors as one sentence naming the file and line."""
    message = str(error)
    line = re.search(r"[Ll]ine:?\s*(\d+)", message)
    if "CSV" in message or line:
        detail = next((m.strip() for m in message.splitlines()[1:] if m.strip() and "Original Line" not in m), "")
        where = f" line {line.group(1)}" if line else ""
        hint = ("; name its encoding in a source profile, e.g. `encoding: latin-1`"
                if "not utf-8 encoded" in message else "")
        detail = without_values(detail or message.splitlines()[0])
        return f"{path}{where}: the export cannot be read as {('a TSV' if path.suffix == '.tsv' else 'a CSV')} file ({detail}){hint}."
    return None
