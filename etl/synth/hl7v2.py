"""The synthetic cohort's lab results as HL7 v2.5.1 ORU^R01 files (one lab feed).

Rows keep their order: consecutive rows of one report (patient, accession, collection time) share
a message, and every re-sent row (correction, final after preliminary, deletion, duplicate)
follows later in the file as its own message, exactly as in the flat export. So the registry must
end with the same current results from this feed as from the CSV. PID carries the patient's sex
and birth date as a hospital's feed does; the menopausal status has no place in PID and stays in
the patients export.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa

ENCODING = "^~\\&"
_ESCAPES = {"\\": "\\E\\", "|": "\\F\\", "^": "\\S\\", "&": "\\T\\", "~": "\\R\\"}
_ESCAPE_RE = re.compile(r"[\\|^&~]")
_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?")


def escape(text: str | None) -> str:
    """HL7 escape sequences for the delimiters a value may contain (HL7 v2 section 2.7)."""
    if not text:
        return ""
    return _ESCAPE_RE.sub(lambda m: _ESCAPES[m.group(0)], text)


def iso_to_hl7_ts(text: str | None) -> str:
    """ISO 8601 text -> HL7 DTM with the same offset; text that is no ISO date is kept as sent."""
    if not text:
        return ""
    match = _ISO.fullmatch(text)
    if match is None:
        return escape(text)
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    stamp = year + month + day
    if hour:
        stamp += hour + minute + (second or "00") + (fraction or "")
    if offset:
        stamp += "+0000" if offset == "Z" else offset.replace(":", "")
    return stamp


def _value_type(value: str) -> tuple[str, str]:
    """(OBX-2, OBX-5): numbers as NM, comparator values as SN (`<^0.20`), anything else ST.
    HL7 NM and SN numbers have a decimal point only (contract section 2), whatever the lab's
    own spelling: a hospital's interface engine writes `1,94` as `1.94`."""
    if not value:
        return "NM", ""
    if value[0] in "<>":
        comparator = value[:2] if value[:2] in ("<=", ">=") else value[0]
        number = value[len(comparator):]
        if re.fullmatch(r"-?\d+([.,]\d+)?", number):
            number = number.replace(",", ".")
        return "SN", f"{comparator}^{escape(number)}"
    if re.fullmatch(r"-?\d+([.,]\d+)?", value):
        return "NM", value.replace(",", ".")
    return "ST", escape(value)


def _column(table: pa.Table, name: str) -> list:
    return table.column(name).to_pylist() if name in table.column_names else [None] * table.num_rows


def messages(patients: pa.Table, labs: pa.Table, first_control_id: int = 1) -> Iterable[str]:
    """ORU^R01 messages (segments joined by CR) for the lab rows, in row order."""
    demographics: dict[str, tuple[str, str]] = {}
    for pid, sex, birth in zip(_column(patients, "patient_id"), _column(patients, "sex"),
                               _column(patients, "birth_date")):
        if pid and pid not in demographics:
            demographics[pid] = (sex or "", birth or "")
    names = ["patient_id", "collected_at", "code", "code_system", "name", "value", "unit",
             "reference_range", "abnormal_flag", "status", "accession_id"]
    rows = zip(*(_column(labs, n) for n in names))
    control = first_control_id
    current_key = None
    segments: list[str] = []
    codes: set[str] = set()
    for patient_id, collected, code, system, name, value, unit, ref_range, flag, status, accession in rows:
        key = (patient_id, accession, collected)
        if key != current_key or code in codes:
            if segments:
                yield "\r".join(segments)
            sex, birth = demographics.get(patient_id or "", ("", ""))
            stamp = iso_to_hl7_ts(collected)
            segments = [
                f"MSH|{ENCODING}|OSTEOREG-SYNTH|LAB|OSTEOREG|REGISTRY|{stamp}||ORU^R01^ORU_R01|MSG{control:09d}|P|2.5.1",
                f"PID|1||{escape(patient_id)}^^^SYNTH^MR||||{iso_to_hl7_ts(birth)}|{escape(sex)}",
                f"OBR|1||{escape(accession)}^LAB|{escape(code)}^{escape(name)}^LN|||{stamp}",
            ]
            control += 1
            current_key, codes = key, set()
        codes.add(code)
        value_type, obx5 = _value_type(value or "")
        coding = "LN" if (system or "LOINC").upper() in ("LOINC", "LN") else escape(system)
        segments.append(
            f"OBX|{len(segments) - 2}|{value_type}|{escape(code)}^{escape(name)}^{coding}||{obx5}|{escape(unit)}|"
            f"{escape(ref_range)}|{escape(flag)}|||{status or ''}|||{iso_to_hl7_ts(collected)}")
    if segments:
        yield "\r".join(segments)


def write(blocks: Iterable, out_dir: Path, results_per_file: int = 250_000, prefix: str = "labs") -> list[Path]:
    """Write the lab rows of cohort blocks (anything with `.patients` and `.labs` tables, such as a
    `Cohort` or `CohortBlock`) as HL7 files of about `results_per_file` OBX each (CR separators,
    one message after another). Returns the files in the order they must be loaded."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if hasattr(blocks, "labs"):
        blocks = [blocks]
    paths: list[Path] = []
    handle = None
    in_file = 0
    control = 1
    try:
        for block in blocks:
            for message in messages(block.patients, block.labs, control):
                control += 1
                if handle is None or in_file >= results_per_file:
                    if handle is not None:
                        handle.close()
                    paths.append(out_dir / f"{prefix}_{len(paths) + 1:04d}.hl7")
                    handle = paths[-1].open("w", encoding="utf-8", newline="")
                    in_file = 0
                handle.write(message + "\r")
                in_file += message.count("\rOBX|")
    finally:
        if handle is not None:
            handle.close()
    return paths
