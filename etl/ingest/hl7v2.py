"""HL7 v2 ORU^R01 reader (contract section 3): messages -> canonical `patients`, `labs` and `dxa`
rows (an OBX carrying a DXA LOINC code of contract section 7 is a DXA result, one OBR a scan).

Parser choice, by measurement on the same 8-OBX ORU^R01 message (1 core, Python 3.11): python-hl7
0.4.5 takes about 52 us per OBX and hl7apy 1.3.5 about 2,000 us per OBX (even with
`find_groups=False`), i.e. 52 s and 33 min for the 1M-result benchmark; a split on the message's
own delimiters takes under 1 us per OBX. ORU^R01 needs only delimiter splitting, escape decoding
and a walk over PID/OBR/OBX, so this module does exactly that and nothing more.

A message is the unit of trust: if any part of it cannot be read (no MSH, truncated segment,
results without a patient), the whole message is quarantined and the others still load.
"""
from __future__ import annotations

import functools
import gc
import re
import uuid
from pathlib import Path

import pyarrow as pa

from .. import sqltext, terminology
from ..errors import InputError
from . import seed_lookup as seed
from .canonical import Batch, ReaderResult, Reject
from .numbers import STRICT_NUMBERS

FORMAT = "hl7v2"

# Batch envelopes (HL7 v2 chapter 2, FHS/BHS/BTS/FTS) wrap messages and carry no results.
_ENVELOPE = frozenset({"FHS", "BHS", "BTS", "FTS"})
_SEGMENT_ID = re.compile(r"[A-Z][A-Z0-9]{2}")
# HL7 TS/DTM: YYYY[MM[DD[HH[MM[SS[.S...]]]]]][+/-ZZZZ]
_TS = re.compile(r"(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\.\d{1,6})?([+-]\d{4})?")

LAB_COLUMNS = ["source_row", "patient_id", "patient_id_namespace", "collected_at", "code", "value", "unit",
               "code_system", "name", "reference_range", "abnormal_flag", "status", "accession_id", "loinc_code",
               "result_id", "reported_at"]
PATIENT_COLUMNS = ["source_row", "patient_id", "patient_id_namespace", "sex", "birth_date"]
IDENTIFIER_COLUMNS = ["namespace", "id_type", "id_value", "reference", "patient_id"]
# HL7 table 0203 identifier types that name the patient's record (contract section 2a); SS, DL,
# insurance (HC, MC, MA, ...) and account numbers (AN) are never a patient's registry identity.
RECORD_ID_TYPES = frozenset({"MR", "PI", "PT", "MRN"})


def looks_like(head: bytes) -> bool:
    """HL7 v2 starts with MSH (or a batch header) after an optional BOM / MLLP start block."""
    head = head.lstrip(b"\xef\xbb\xbf").lstrip(b"\x0b\r\n\t ")
    return len(head) > 4 and head[:3] in (b"MSH", b"FHS", b"BHS") and not head[3:4].isalnum()


class _Unparseable(Exception):
    """Raised inside one message; carries the HL7 field that failed for the quarantine row."""

    def __init__(self, field: str, message: str, reason: str = "unparseable_message"):
        super().__init__(message)
        self.field = field
        self.reason = reason


@functools.lru_cache(maxsize=65536)
def hl7_ts_to_iso(ts: str) -> str:
    """HL7 TS -> ISO 8601 text, keeping the sender's offset; anything else stays as written so
    the loader can quarantine it as `invalid_date` with the original text."""
    match = _TS.fullmatch(ts)
    if match is None:
        return ts
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    text = year
    if month:
        text += f"-{month}"
    if day:
        text += f"-{day}"
    if hour:
        text += f"T{hour}:{minute or '00'}:{second or '00'}{fraction or ''}"
        if offset:
            text += f"{offset[:3]}:{offset[3:]}"
    return text


def hl7_date_to_iso(ts: str) -> str:
    """A birth date keeps only its date part; an invalid one stays as written."""
    iso = hl7_ts_to_iso(ts)
    return iso[:10] if iso != ts and len(iso) > 10 else iso


class _Delimiters:
    """The message's own encoding characters (MSH-1, MSH-2) and its escape decoder."""

    __slots__ = ("field", "component", "repetition", "escape", "subcomponent", "_escape_re")

    def __init__(self, msh: str):
        if len(msh) < 8:
            raise _Unparseable("MSH-2", "the MSH segment is too short to hold its encoding characters")
        self.field = msh[3]
        encoding = msh[4:].split(self.field, 1)[0]
        if len(encoding) < 3 or self.field in encoding:
            raise _Unparseable("MSH-2", f"the encoding characters {encoding!r} are incomplete")
        self.component, self.repetition, self.escape = encoding[0], encoding[1], encoding[2]
        self.subcomponent = encoding[3] if len(encoding) > 3 else "&"
        esc = re.escape(self.escape)
        self._escape_re = re.compile(f"{esc}([^{esc}]*){esc}")

    def decode(self, text: str) -> str:
        """Escape sequences (HL7 v2 section 2.7): delimiters, hex characters; formatting dropped."""
        if self.escape not in text:
            return text
        return self._escape_re.sub(self._replace, text)

    def _replace(self, match: re.Match) -> str:
        code = match.group(1)
        simple = {"F": self.field, "S": self.component, "T": self.subcomponent,
                  "R": self.repetition, "E": self.escape, ".br": "\n"}
        if code in simple:
            return simple[code]
        if code[:1] == "X" and len(code) > 1:
            try:
                return bytes.fromhex(code[1:]).decode("latin-1")
            except ValueError:
                return match.group(0)
        if code[:1] in ("H", "N", "Z", ".", "C", "M"):
            return ""  # highlighting, formatting and charset switches carry no data
        return match.group(0)


def _patient_identifiers(pid3: str, delims: "_Delimiters") -> tuple[str, str, list[tuple[str, str, str]]]:
    """PID-3's record identifier (value, namespace) and every repetition as (namespace, type, value).

    The first repetition of a record type (MR, PI, PT, MRN) wins; a repetition without a type
    only when no repetition has a type. The namespace is CX.4's namespace id (else its universal
    id); an identifier without one is in the registry's default namespace ('')."""
    seen: list[tuple[str, str, str]] = []
    for repetition in pid3.split(delims.repetition):
        parts = repetition.split(delims.component)
        value = delims.decode(parts[0]).strip()
        if not value:
            continue
        authority = parts[3].split(delims.subcomponent) if len(parts) > 3 else [""]
        namespace = delims.decode(authority[0] or (authority[1] if len(authority) > 1 else "")).strip()
        id_type = delims.decode(parts[4]).strip().upper() if len(parts) > 4 else ""
        seen.append((namespace, id_type, value))
    chosen = next((i for i in seen if i[1] in RECORD_ID_TYPES), None)
    if chosen is None and not any(i[1] for i in seen):
        chosen = seen[0] if seen else None
    if chosen is None:
        return "", "", seen
    return chosen[2], chosen[0], seen


def _field(fields: list[str], index: int) -> str:
    return fields[index] if index < len(fields) else ""


# MSH-18 (HL7 table 0211) -> Python codec; anything else unnamed is read as UTF-8 (ASCII's superset).
_CHARSETS = {"ASCII": "ascii", "8859/1": "latin-1", "8859/2": "iso8859-2", "8859/5": "iso8859-5",
             "8859/7": "iso8859-7", "8859/9": "iso8859-9", "8859/15": "iso8859-15", "UNICODE UTF-8": "utf-8",
             "UNICODE": "utf-8"}


class UnreadableFile(ValueError):
    """The file's bytes cannot be turned into text (one sentence for the loader)."""


def _decode_whole(data: bytes) -> str | None:
    """The file as text when it needs no per-message character set: a UTF-16 file (by its
    byte-order mark, or NULs in every other byte), or UTF-8 with no message naming 8859."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise UnreadableFile("the file starts with a UTF-16 byte-order mark but is not UTF-16 text") from None
    if len(data) > 3 and data[1] == 0 and data[3] == 0 and data[0] != 0:
        return data.decode("utf-16-le", errors="replace")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if b"8859" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _decode_by_message(data: bytes, separator: bytes) -> str:
    """Each message in the character set its MSH-18 names (default UTF-8, else Latin-1)."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    texts: list[str] = []
    codec = "utf-8"
    for segment in data.split(separator):
        head = segment.lstrip()
        if head[:3] == b"MSH" and len(head) > 3:
            fields = head.split(head[3:4])
            named = fields[17].split(b"~")[0].decode("ascii", "replace").strip().upper() if len(fields) > 17 else ""
            codec = _CHARSETS.get(named, "utf-8")
        try:
            texts.append(segment.decode(codec))
        except UnicodeDecodeError:
            texts.append(segment.decode("latin-1"))  # HL7 v2's common default character set (8859/1)
    return "\r".join(texts)


def _split_lines(data: bytes) -> list[str]:
    """Segments after dropping a BOM and MLLP framing; index + 1 = line number. A file with any CR
    is split on CR only (an LF inside a field stays in it); one without is split on LF."""
    data = data.replace(b"\x0b", b"").replace(b"\x1c", b"")
    text = _decode_whole(data)
    if text is None:
        text = _decode_by_message(data, b"\r" if b"\r" in data else b"\n")
    text = text.lstrip("\ufeff")
    if "\r" in text:
        return [line.lstrip("\n") for line in text.split("\r")]
    return text.split("\n")


def _messages(lines: list[str]):
    """Yield [(line number, segment)] per message; segments before any MSH form a group of their
    own, which the caller rejects as a message without MSH."""
    current: list[tuple[int, str]] = []
    for number, line in enumerate(lines, 1):
        if not line or line.isspace():
            continue
        if line[0] in " \t\n":   # whitespace a sender put before a segment
            line = line.lstrip()
        head = line[:3]
        if head == "MSH":
            if current:
                yield current
            current = [(number, line)]
        elif head not in _ENVELOPE:
            current.append((number, line))
    if current:
        yield current


def _parse_message(segments: list[tuple[int, str]], labs: list[tuple], patients: list[tuple],
                   identifiers: list[tuple] | None = None) -> bool:
    """Append one ORU^R01 message's rows; False for another message type (counted as skipped).
    Rows are appended only once the whole message has been read without a problem."""
    first = segments[0][1]
    if not first.startswith("MSH"):
        raise _Unparseable("MSH", f"the message starts with {first[:3]!r} instead of an MSH segment")
    delims = _Delimiters(first)
    fs, cs, rs = delims.field, delims.component, delims.repetition
    msh = first.split(fs)
    if len(msh) < 12 or not msh[11]:
        raise _Unparseable("MSH-12", "the MSH segment is truncated before the version id (MSH-12)")
    message_type = msh[8].split(cs)
    if not message_type[0]:
        raise _Unparseable("MSH-9", "the message has no message type (MSH-9)")
    if message_type[0] != "ORU":
        return False
    decode = delims.decode
    to_iso = hl7_ts_to_iso
    # The message's own time orders versions of a result (contract 5): a correction sent later wins.
    sent_at = to_iso(msh[6].split(cs, 1)[0]) if len(msh) > 6 and msh[6] else ""
    message_labs: list[tuple] = []
    message_patients: list[tuple] = []
    message_identifiers: list[tuple] = []
    patient_id = None
    namespace = ""
    accession = ""
    obr_time = ""
    for number, segment in segments[1:]:
        seg_id = segment[:3]
        if seg_id == "OBX":
            fields = segment.split(fs)
            if len(fields) < 12:
                raise _Unparseable("OBX-11", f"the OBX on line {number} is truncated before its result status (OBX-11)")
            if patient_id is None:
                raise _Unparseable("PID", f"the OBX on line {number} comes before any PID segment")
            code = fields[3].split(cs)
            value = fields[5]
            if fields[2] == "SN" and cs in value:
                value = "".join(value.split(cs))  # comparator^num -> '<0.2'; ^182 -> '182'
            observed = fields[14].split(cs, 1)[0] if len(fields) > 14 else ""
            collected = observed or obr_time.split(cs, 1)[0]
            sub_id = fields[4]
            n_code = len(code)
            code_system = code[2] if n_code > 2 else ""
            alternate = code[5] if n_code > 5 else ""
            # LOINC as the alternate code beside a local one (CWE.4-6) is the code the registry tracks
            loinc = code[3] if alternate in ("LN", "LNC") and code_system not in ("LN", "LNC") else ""
            # A timed series (several results of one code in one order) differs by OBX-4 sub-id
            # and observation time: both are part of the result's identity then.
            timed = observed if observed and observed != obr_time.split(cs, 1)[0] else ""
            result_id = f"{accession}^{code[0]}^{sub_id}^{timed}" if (sub_id or timed) else ""
            analysed = fields[19].split(cs, 1)[0] if len(fields) > 19 else ""
            message_labs.append((
                number, patient_id, namespace, to_iso(collected) if collected else "",
                decode(code[0]), decode(value), decode(fields[6].split(cs, 1)[0]),
                "LOINC" if code_system in ("LN", "LNC") else decode(code_system),
                decode(code[1]) if n_code > 1 else "", decode(fields[7]),
                fields[8].split(rs, 1)[0], fields[11], accession, decode(loinc), decode(result_id),
                sent_at or (to_iso(analysed) if analysed else ""),
            ))
        elif seg_id == "PID":
            fields = segment.split(fs)
            if len(fields) < 4:
                raise _Unparseable("PID-3", f"the PID on line {number} is truncated before the patient id (PID-3)")
            patient_id, namespace, seen = _patient_identifiers(fields[3], delims)
            if not patient_id and fields[2]:   # PID-2 (v2.3 external id) when PID-3 names no record
                patient_id, namespace, seen = _patient_identifiers(fields[2], delims)
            # No record identifier (PID-3 holds only SS, DL, ...): the message's rows are
            # quarantined one by one as `missing_patient_id` by the loader.
            record = f"{namespace}|{patient_id}" if namespace else patient_id
            if patient_id:
                message_identifiers.extend((ns, kind, value, record if (ns, value) == (namespace, patient_id) else None,
                                            record) for ns, kind, value in seen)
            birth, sex = _field(fields, 7).split(cs, 1)[0], _field(fields, 8)
            if birth or sex:
                message_patients.append((number, patient_id, namespace, decode(sex),
                                         hl7_date_to_iso(birth) if birth else ""))
            accession, obr_time = "", ""
        elif seg_id == "OBR":
            fields = segment.split(fs)
            accession = decode(_field(fields, 3).split(cs, 1)[0] or _field(fields, 2).split(cs, 1)[0])
            obr_time = _field(fields, 7).split(cs, 1)[0]
        elif not _SEGMENT_ID.fullmatch(seg_id) or (len(segment) > 3 and segment[3] != fs):
            raise _Unparseable("segment", f"line {number} is not an HL7 segment: {segment[:20]!r}")
    labs.extend(message_labs)
    patients.extend(message_patients)
    if identifiers is not None:
        identifiers.extend(message_identifiers)
    return True


def _temp_table(conn, name: str, rows: list[tuple], names: list[str]) -> str:
    """Rows into a temp table on the loader's connection (via Arrow, column by column)."""
    columns = list(zip(*rows))
    arrays = [pa.array(columns[0], type=pa.int64())]
    arrays += [pa.array(column, type=pa.string()) for column in columns[1:]]
    arrow_rows = pa.Table.from_arrays(arrays, names=names)  # noqa: F841 (read by DuckDB's replacement scan)
    # `execute` with a replacement scan, not `register`: the loader's connection may hold a
    # partly fetched result, which DuckDB 2 lets `execute` replace but makes `register` refuse.
    conn.execute(f"CREATE TEMP TABLE {name} AS SELECT * FROM arrow_rows").fetchall()
    return name


def _dxa_parameters(labs: str) -> dict[str, str]:
    """The SQL fragments of `sql/hl7_dxa.sql`: the seed dxa_codes as CASE arms over a row's LOINC."""
    codes = terminology.rows("dxa_codes")
    return {
        "labs": labs,
        "dxa_loinc": "coalesce(nullif(loinc_code, ''), CASE WHEN code_system = 'LOINC' THEN code END)",
        "dxa_site": seed.mapped("dxa_loinc", {r["loinc_code"]: r["site"] for r in codes}),
        "dxa_side": seed.mapped("dxa_loinc", {r["loinc_code"]: r["side"] for r in codes}),
        "dxa_measure": seed.mapped("dxa_loinc", {r["loinc_code"]: r["measure"] for r in codes}),
    }


def _labs_and_dxa(conn, labs: str, tag: str) -> list[Batch]:
    """The lab rows as the `labs` batch, less the OBX segments carrying DXA codes (contract 7),
    which become the `dxa` batch (one row per measure; see `sql/hl7_dxa.sql`)."""
    parameters = _dxa_parameters(labs)
    dxa = f"src_hl7_dxa_{tag}"
    conn.execute(f"CREATE TEMP TABLE {dxa} AS "
                 + sqltext.render(sqltext.template(__package__, "hl7_dxa.sql"), **parameters)).fetchall()
    if not conn.execute(f"SELECT count(*) FROM {dxa}").fetchone()[0]:
        conn.execute(f"DROP TABLE {dxa}").fetchall()
        return [Batch("labs", labs, numbers=STRICT_NUMBERS)]
    rest = f"src_hl7_labs_without_dxa_{tag}"
    del parameters["dxa_side"], parameters["dxa_measure"]
    conn.execute(f"CREATE TEMP VIEW {rest} AS "
                 + sqltext.render(sqltext.template(__package__, "hl7_labs_without_dxa.sql"), **parameters)).fetchall()
    batches = [Batch("dxa", dxa, numbers=STRICT_NUMBERS)]
    if conn.execute(f"SELECT count(*) FROM {rest}").fetchone()[0]:
        batches.insert(0, Batch("labs", rest, numbers=STRICT_NUMBERS))
    return batches


def read(path: Path, conn) -> ReaderResult:
    """All messages of one file, as temp tables `src_hl7_patients_<tag>` and `src_hl7_labs_<tag>`
    on `conn` (named `src_*` so the loader drops them after the file, whatever happens)."""
    try:
        lines = _split_lines(Path(path).read_bytes())
    except UnreadableFile as problem:
        raise InputError(f"{path}: {problem}; send it as UTF-8, or UTF-16 with its byte-order mark.") from None
    result = ReaderResult(format=FORMAT)
    labs: list[tuple] = []
    patients: list[tuple] = []
    identifiers: list[tuple] = []
    collecting = gc.isenabled()
    gc.disable()  # millions of small tuples: the cyclic collector would rescan them all, for nothing
    try:
        for segments in _messages(lines):
            try:
                if not _parse_message(segments, labs, patients, identifiers):
                    result.rows_skipped += 1
            except _Unparseable as problem:
                result.rejects.append(Reject(
                    source_row=segments[0][0], reason=problem.reason, field=problem.field,
                    payload={"message": "\r".join(segment for _, segment in segments),
                             "error": str(problem)}))
        del lines
        tag = uuid.uuid4().hex[:12]
        if patients:
            table = _temp_table(conn, f"src_hl7_patients_{tag}", patients, PATIENT_COLUMNS)
            result.batches.append(Batch("patients", table, numbers=STRICT_NUMBERS))
        if labs:
            table = _temp_table(conn, f"src_hl7_labs_{tag}", labs, LAB_COLUMNS)
            result.batches += _labs_and_dxa(conn, table, tag)
        if identifiers:
            rows = list(dict.fromkeys(identifiers))
            columns = list(zip(*rows))
            arrow_ids = pa.Table.from_arrays([pa.array(c, type=pa.string()) for c in columns],  # noqa: F841
                                             names=IDENTIFIER_COLUMNS)
            result.identifiers = f"src_hl7_identifiers_{tag}"
            conn.execute(f"CREATE TEMP TABLE {result.identifiers} AS SELECT * FROM arrow_ids").fetchall()
    finally:
        if collecting:
            gc.enable()
    result.rows_read = len(labs) + len(patients) + len(result.rejects)
    return result
