"""Flat exports (CSV, TSV, Parquet): recognise the kind from the header, expose canonical text columns.

The file is never read row by row in Python: the reader creates a DuckDB view over `read_csv`
(every column as text) or `read_parquet`, renaming the source's columns to the canonical ones and
applying a source profile's constants, value maps, local codes and default units. The view is
join-free, so its rows come in file order and the loader can number them by their line.
"""
from __future__ import annotations

import codecs
import csv
import re
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
    first = _decode(head).splitlines()[0] if head.strip() else ""
    if not first.strip():
        raise InputError(f"{path} line 1: the file is empty; a flat export needs a header row.")
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
    shown = ", ".join(header[:8]) + (", ..." if len(header) > 8 else "")
    raise InputError(
        f"{path} line 1: the header ({shown}) is not a patients, labs, dxa or fractures export "
        "(contract section 2) and matches no source profile; name one with --profile."
    )


def _source_sql(path: Path, fmt: str, delimiter: str, header: list[str], encoding: str | None = None) -> str:
    if fmt == "parquet":
        return f"read_parquet({_literal(str(path))}, file_row_number = true)"
    # The header was read already; naming every column VARCHAR keeps DuckDB from guessing types.
    names = ", ".join(f"{_literal(c)}: 'VARCHAR'" for c in header)
    encoded = f", encoding = {_literal(encoding)}" if encoding and encoding != "utf-8" else ""
    return (f"read_csv({_literal(str(path))}, header = true, delim = {_literal(delimiter)}, quote = '\"', "
            f"escape = '\"', auto_detect = false, columns = {{{names}}}{encoded})")


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
        rows, first_row = _source_sql(path, fmt, delimiter, header, encoding), 2

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

    if profile is not None and profile.patient_id_namespace and "patient_id_namespace" not in exprs:
        exprs["patient_id_namespace"] = _literal(profile.patient_id_namespace)   # contract section 2a

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
    return ReaderResult(format=fmt, batches=[Batch(mapping.kind, view, mapping.date_formats, first_row, numbers)],
                        profile=profile.name if profile else None)


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


def describe_error(path: Path, error: Exception) -> str | None:
    """DuckDB's CSV errors as one sentence naming the file and line."""
    message = str(error)
    line = re.search(r"[Ll]ine:?\s*(\d+)", message)
    if "CSV" in message or line:
        detail = next((m.strip() for m in message.splitlines()[1:] if m.strip() and "Original Line" not in m), "")
        where = f" line {line.group(1)}" if line else ""
        hint = ("; name its encoding in a source profile, e.g. `encoding: latin-1`"
                if "not utf-8 encoded" in message else "")
        return f"{path}{where}: the export cannot be read as {('a TSV' if path.suffix == '.tsv' else 'a CSV')} file ({detail or message.splitlines()[0]}){hint}."
    return None
