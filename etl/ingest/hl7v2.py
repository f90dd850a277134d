"""HL7 v2 ORU^R01 reader (contract section 3): messages -> canonical `patients` and `labs` rows.

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

from .canonical import Batch, ReaderResult, Reject
from .numbers import STRICT_NUMBERS

FORMAT = "hl7v2"

# Batch envelopes (HL7 v2 chapter 2, FHS/BHS/BTS/FTS) wrap messages and carry no results.
_ENVELOPE = frozenset({"FHS", "BHS", "BTS", "FTS"})
_SEGMENT_ID = re.compile(r"[A-Z][A-Z0-9]{2}")
# HL7 TS/DTM: YYYY[MM[DD[HH[MM[SS[.S...]]]]]][+/-ZZZZ]
_TS = re.compile(r"(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\.\d{1,6})?([+-]\d{4})?")

LAB_COLUMNS = ["source_row", "patient_id", "collected_at", "code", "value", "unit", "code_system",
               "name", "reference_range", "abnormal_flag", "status", "accession_id", "loinc_code"]
PATIENT_COLUMNS = ["source_row", "patient_id", "sex", "birth_date"]


def looks_like(head: bytes) -> bool:
    """HL7 v2 starts with MSH (or a batch header) after an optional BOM / MLLP start block."""
    head = head.lstrip(b"\xef\xbb\xbf").lstrip(b"\x0b\r\n\t ")
    return len(head) > 4 and head[:3] in (b"MSH", b"FHS", b"BHS") and not head[3:4].isalnum()


class _Unparseable(Exception):
    """Raised inside one message; carries the HL7 field that failed for the quarantine row."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


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


def _field(fields: list[str], index: int) -> str:
    return fields[index] if index < len(fields) else ""


def _split_lines(data: bytes) -> list[str]:
    """Segments on CR, LF or CRLF after dropping a BOM and MLLP framing; index + 1 = line number."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    data = data.replace(b"\x0b", b"").replace(b"\x1c", b"")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")  # HL7 v2's common default character set (8859/1)
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _messages(lines: list[str]):
    """Yield [(line number, segment)] per message; segments before any MSH form a group of their
    own, which the caller rejects as a message without MSH."""
    current: list[tuple[int, str]] = []
    for number, line in enumerate(lines, 1):
        if not line or line.isspace():
            continue
        head = line[:3]
        if head == "MSH":
            if current:
                yield current
            current = [(number, line)]
        elif head not in _ENVELOPE:
            current.append((number, line))
    if current:
        yield current


def _parse_message(segments: list[tuple[int, str]], labs: list[tuple], patients: list[tuple]) -> bool:
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
    message_labs: list[tuple] = []
    message_patients: list[tuple] = []
    patient_id = None
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
            collected = fields[14] if len(fields) > 14 and fields[14] else obr_time
            n_code = len(code)
            code_system = code[2] if n_code > 2 else ""
            message_labs.append((
                number, patient_id, to_iso(collected.split(cs, 1)[0]) if collected else "",
                decode(code[0]), decode(value), decode(fields[6].split(cs, 1)[0]),
                "LOINC" if code_system == "LN" else decode(code_system),
                decode(code[1]) if n_code > 1 else "", decode(fields[7]),
                fields[8].split(rs, 1)[0], fields[11], accession,
                code[3] if n_code > 5 and code[5] == "LN" else "",
            ))
        elif seg_id == "PID":
            fields = segment.split(fs)
            if len(fields) < 4:
                raise _Unparseable("PID-3", f"the PID on line {number} is truncated before the patient id (PID-3)")
            patient_id = decode(fields[3].split(rs, 1)[0].split(cs, 1)[0])
            birth, sex = _field(fields, 7).split(cs, 1)[0], _field(fields, 8)
            if birth or sex:
                message_patients.append((number, patient_id, decode(sex),
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


def read(path: Path, conn) -> ReaderResult:
    """All messages of one file, as temp tables `src_hl7_patients_<tag>` and `src_hl7_labs_<tag>`
    on `conn` (named `src_*` so the loader drops them after the file, whatever happens)."""
    lines = _split_lines(Path(path).read_bytes())
    result = ReaderResult(format=FORMAT)
    labs: list[tuple] = []
    patients: list[tuple] = []
    collecting = gc.isenabled()
    gc.disable()  # millions of small tuples: the cyclic collector would rescan them all, for nothing
    try:
        for segments in _messages(lines):
            try:
                if not _parse_message(segments, labs, patients):
                    result.rows_skipped += 1
            except _Unparseable as problem:
                result.rejects.append(Reject(
                    source_row=segments[0][0], reason="unparseable_message", field=problem.field,
                    payload={"message": "\r".join(segment for _, segment in segments),
                             "error": str(problem)}))
        del lines
        tag = uuid.uuid4().hex[:12]
        if patients:
            table = _temp_table(conn, f"src_hl7_patients_{tag}", patients, PATIENT_COLUMNS)
            result.batches.append(Batch("patients", table, numbers=STRICT_NUMBERS))
        if labs:
            result.batches.append(Batch("labs", _temp_table(conn, f"src_hl7_labs_{tag}", labs, LAB_COLUMNS), numbers=STRICT_NUMBERS))
    finally:
        if collecting:
            gc.enable()
    result.rows_read = len(labs) + len(patients) + len(result.rejects)
    return result
