"""Seeded mutators: each takes a `random.Random` and bytes and returns broken bytes.

Byte-level mutators break any format the way transfers and editors do (flipped bytes, truncation,
byte-order marks, NULs, invalid UTF-8, huge fields, repeated or lost chunks). Line-level ones
break rows of a delimited export while keeping one record per line, so the fuzzer can check that
every record sent is accounted for. Structural ones break JSON, HL7 and YAML by their grammar.
"""
from __future__ import annotations

import codecs
import json
import random

# --- any bytes ---------------------------------------------------------------------------------


def flip_bytes(rng: random.Random, data: bytes) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        if out:
            out[rng.randrange(len(out))] = rng.randrange(256)
    return bytes(out)


def truncate(rng: random.Random, data: bytes) -> bytes:
    return data[:rng.randrange(len(data) + 1)]


def bom(rng: random.Random, data: bytes) -> bytes:
    text = data.decode("utf-8", "replace")
    choice = rng.randrange(4)
    if choice == 0:
        return codecs.BOM_UTF8 + data
    if choice == 1:
        return codecs.BOM_UTF16_LE + text.encode("utf-16-le")
    if choice == 2:
        return codecs.BOM_UTF16_BE + text.encode("utf-16-be")
    return codecs.BOM_UTF8 + codecs.BOM_UTF8 + data


def insert_nul(rng: random.Random, data: bytes) -> bytes:
    at = rng.randrange(len(data) + 1)
    return data[:at] + b"\x00" * rng.randint(1, 3) + data[at:]


def bad_utf8(rng: random.Random, data: bytes) -> bytes:
    at = rng.randrange(len(data) + 1)
    return data[:at] + rng.choice([b"\xff", b"\xc3", b"\xe9", b"\xed\xa0\x80", b"\xf4\x90\x80\x80"]) + data[at:]


def huge_field(rng: random.Random, data: bytes) -> bytes:
    at = rng.randrange(len(data) + 1)
    return data[:at] + b"9" * rng.choice([70_000, 300_000, 2_100_000]) + data[at:]


def repeat_chunk(rng: random.Random, data: bytes) -> bytes:
    if not data:
        return data
    start = rng.randrange(len(data))
    end = min(len(data), start + rng.randint(1, 400))
    return data[:end] + data[start:end] * rng.randint(1, 5) + data[end:]


def drop_chunk(rng: random.Random, data: bytes) -> bytes:
    if not data:
        return data
    start = rng.randrange(len(data))
    return data[:start] + data[start + rng.randint(1, 200):]


def empty(rng: random.Random, data: bytes) -> bytes:
    return rng.choice([b"", b" ", b"\n\n", b"\t \r\n", codecs.BOM_UTF8, codecs.BOM_UTF16_LE])


def control_chars(rng: random.Random, data: bytes) -> bytes:
    at = rng.randrange(len(data) + 1)
    return data[:at] + rng.choice([b"\x1b[2J", b"[/RED]", b"[bold]x[/bold]", b"\x1b]8;;http://x\x07", b"\r"]) + data[at:]


BYTE_MUTATORS = [flip_bytes, truncate, bom, insert_nul, bad_utf8, huge_field, repeat_chunk, drop_chunk, empty,
                 control_chars]

# --- delimited exports, one record per line ---------------------------------------------------


def _lines(data: bytes) -> tuple[bytes, list[bytes]]:
    header, *rows = data.rstrip(b"\n").split(b"\n")
    return header, rows


def line_mutation(rng: random.Random, data: bytes, delimiter: bytes = b",") -> tuple[bytes, int, str]:
    """Break one to three data lines; returns the bytes, the data records sent and what was done.

    Every line stays one record: fields dropped or added, a NUL or an invalid byte inside a field,
    CRLF or CR endings on some lines (mixed line endings), a line repeated, a markup or escape
    sequence inside a field. No quote characters are introduced.
    """
    header, rows = _lines(data)
    done = []
    for _ in range(rng.randint(1, 3)):
        i = rng.randrange(len(rows))
        fields = rows[i].split(delimiter)
        kind = rng.randrange(7)
        if kind == 0 and len(fields) > 1:
            del fields[rng.randrange(len(fields))]
            done.append("field dropped")
        elif kind == 1:
            fields.insert(rng.randrange(len(fields) + 1), b"surplus")
            done.append("field added")
        elif kind == 2:
            j = rng.randrange(len(fields))
            fields[j] = fields[j] + b"\x00" + fields[j]
            done.append("NUL in a field")
        elif kind == 3:
            j = rng.randrange(len(fields))
            fields[j] = fields[j] + rng.choice([b"\xff", b"\xe9"])
            done.append("invalid byte in a field")
        elif kind == 4:
            fields[-1] = fields[-1] + b"\r"
            done.append("CRLF ending")
        elif kind == 5:
            rows.insert(i, rows[i])
            done.append("line repeated")
            continue
        else:
            j = rng.randrange(len(fields))
            fields[j] = fields[j] + rng.choice([b"[/RED]", b"\x1b[31m", b"\x07"])
            done.append("markup or escape in a field")
        rows[i] = delimiter.join(fields)
    # A CR ending stays an ending whatever else was done to the line after it (a field added or
    # a mark appended behind the CR would leave a bare CR inside the line, which every CSV reader,
    # Python's csv module included, takes for a line break: two records, not one).
    rows = [row.replace(b"\r", b"") + b"\r" if b"\r" in row else row for row in rows]
    return header + b"\n" + b"\n".join(rows) + b"\n", len(rows), ", ".join(done)


def header_mutation(rng: random.Random, data: bytes, delimiter: bytes = b",") -> bytes:
    header, rows = _lines(data)
    names = header.split(delimiter)
    kind = rng.randrange(5)
    if kind == 0:
        names.append(names[rng.randrange(len(names))])                  # a name sent twice
    elif kind == 1:
        names[rng.randrange(len(names))] = names[0].upper()              # a registry column twice
    elif kind == 2:
        names.append(b"")                                                # trailing delimiter
    elif kind == 3:
        del names[rng.randrange(len(names))]                             # a required column lost
    else:
        names = [n.upper() for n in names]                               # other spelling
    return delimiter.join(names) + b"\n" + b"\n".join(rows) + b"\n"


# --- structured formats -----------------------------------------------------------------------

_ODD_VALUES = [None, 0, -1, 1e308, True, "", " ", "x" * 5000, [], {}, [None], {"value": None},
               "Patient/", "urn:uuid:", "2024-13-45", "\u202e", "[/RED]", {"reference": 7}]


def mutate_json(rng: random.Random, value):
    """A copy of a JSON value with one to four changes at random places (types swapped, keys
    dropped, lists emptied or repeated, nesting added)."""
    value = json.loads(json.dumps(value))
    for _ in range(rng.randint(1, 4)):
        value = _mutate_somewhere(rng, value, depth=0)
    return value


def _mutate_somewhere(rng: random.Random, value, depth: int):
    if isinstance(value, dict) and value and rng.random() < 0.75 and depth < 12:
        key = rng.choice(list(value))
        choice = rng.randrange(5)
        if choice == 0:
            del value[key]
        elif choice == 1:
            value[key] = rng.choice(_ODD_VALUES)
        else:
            value[key] = _mutate_somewhere(rng, value[key], depth + 1)
        return value
    if isinstance(value, list) and value and rng.random() < 0.75 and depth < 12:
        i = rng.randrange(len(value))
        choice = rng.randrange(4)
        if choice == 0:
            value.append(value[i])
        elif choice == 1:
            del value[i]
        else:
            value[i] = _mutate_somewhere(rng, value[i], depth + 1)
        return value
    choice = rng.randrange(4)
    if choice == 0:
        return rng.choice(_ODD_VALUES)
    if choice == 1:
        return [value]
    if choice == 2:
        return {"nested": value}
    return value


def mutate_hl7(rng: random.Random, data: bytes) -> bytes:
    segments = data.replace(b"\r\n", b"\r").replace(b"\n", b"\r").split(b"\r")
    for _ in range(rng.randint(1, 4)):
        if not segments:
            break
        i = rng.randrange(len(segments))
        choice = rng.randrange(7)
        if choice == 0:
            del segments[i]
        elif choice == 1:
            segments.insert(i, segments[i])
        elif choice == 2:
            fields = segments[i].split(b"|")
            if len(fields) > 1:
                fields[rng.randrange(1, len(fields))] = rng.choice([b"", b"^^^", b"~~", b"\\", b"x" * 3000,
                                                                    b"\xff", b"20241399", b"<^", b"1,5"])
            segments[i] = b"|".join(fields)
        elif choice == 3:
            segments[i] = segments[i][:rng.randrange(len(segments[i]) + 1)]
        elif choice == 4:
            segments[i] = segments[i].replace(b"^", b"|") if rng.random() < 0.5 else segments[i].replace(b"|", b"^")
        elif choice == 5:
            segments.insert(i, b"MSH|^~\\&|" + bytes(rng.randrange(32, 127) for _ in range(rng.randint(0, 40))))
        else:
            segments[i] = b"\x0b" + segments[i] + b"\x1c"
    return b"\r".join(segments) + b"\r"


def mutate_yaml_text(rng: random.Random, text: str) -> str:
    lines = text.splitlines()
    for _ in range(rng.randint(1, 3)):
        i = rng.randrange(len(lines))
        choice = rng.randrange(7)
        if choice == 0:
            del lines[i]
        elif choice == 1:
            lines[i] = " " * rng.randint(1, 3) + lines[i]
        elif choice == 2:
            lines[i] = lines[i].replace(":", rng.choice([": [a, b]", ": {x: y}", ":", ": ''", ": 7"]), 1)
        elif choice == 3:
            lines[i] = lines[i].replace("[", "").replace("]", "")
        elif choice == 4:
            lines[i] = lines[i] + rng.choice([" &a", " *a", " !!binary", " #", "\t", " ]"])
        elif choice == 5:
            lines.insert(i, rng.choice(["kinds: []", "delimiter: ''", "encoding: 7", "local_codes: x",
                                        "  dxa: {columns: [1]}", "    date_formats: '%'"]))
        else:
            lines[i] = lines[i][:rng.randrange(len(lines[i]) + 1)]
    return "\n".join(lines) + "\n"
