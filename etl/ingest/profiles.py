"""Source profiles: a hospital's own layout described in YAML, mapped onto the canonical kinds.

A profile names, per kind, the header columns that identify the file (`match`), where each
canonical column comes from (`columns`), fixed values (`constants`), value translations
(`values`), extra date formats (`date_formats`, strptime syntax), and, for labs, local codes
mapped to LOINC with an optional unit (`local_codes`) and default units per LOINC code
(`default_units`). Built-in profiles live in `etl/ingest/profiles/*.yaml`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ..errors import InputError
from ..paths import BUILTIN_PROFILES_DIR
from .canonical import KINDS, columns
from .numbers import FLAT_NUMBERS, Numbers


@dataclass
class KindMapping:
    kind: str
    match: list[str]
    columns: dict[str, str]
    constants: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    date_formats: list[str] = field(default_factory=list)

    def matches(self, header: list[str]) -> bool:
        present = {h.strip().lower() for h in header}
        return all(m.lower() in present for m in self.match)


@dataclass
class Profile:
    name: str
    path: Path
    description: str = ""
    delimiter: str | None = None
    encoding: str | None = None       # as DuckDB's read_csv names it: utf-8, utf-16 or latin-1
    kinds: list[KindMapping] = field(default_factory=list)
    local_codes: dict[str, dict[str, str]] = field(default_factory=dict)
    default_units: dict[str, str] = field(default_factory=dict)
    numbers: Numbers = FLAT_NUMBERS   # `numbers: {decimal: ",", thousands: "."}` (contract section 2)
    patient_id_namespace: str | None = None  # contract section 2a; None: the registry's default

    def mapping_for(self, header: list[str]) -> KindMapping | None:
        for mapping in self.kinds:
            if mapping.matches(header):
                return mapping
        return None


# A profile is a page of YAML; anything far larger is not one (and is not read into memory).
MAX_PROFILE_BYTES = 1 << 20
_SCALARS = (str, int, float, bool)


def _refuse(path: Path, what: str) -> InputError:
    return InputError(f"The source profile {path}: {what}.")


def _mapping(value, where: str, path: Path) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _refuse(path, f"`{where}` must be a mapping (key: value lines), not {_shape(value)}")
    return value


def _text(value, where: str, path: Path, allow_empty: bool = True) -> str:
    """A scalar as text (YAML reads `2601-3` as text but `1` as a number; both are fine)."""
    if value is None and allow_empty:
        return ""
    if not isinstance(value, _SCALARS) or (not allow_empty and not str(value).strip()):
        raise _refuse(path, f"`{where}` must be {'a non-empty ' if not allow_empty else 'a '}text value, "
                            f"not {_shape(value)}")
    return str(value)


def _texts(value, where: str, path: Path) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _refuse(path, f"`{where}` must be a list such as [a, b], not {_shape(value)}")
    return [_text(v, f"{where}[{i}]", path, allow_empty=False) for i, v in enumerate(value)]


def _shape(value) -> str:
    """What a YAML value is, in words (never the value: a profile is config, but say it plainly)."""
    if value is None:
        return "empty"
    return {dict: "a mapping", list: "a list", str: "text", bool: "true/false", int: "a number",
            float: "a number"}.get(type(value), type(value).__name__)


def _as_str_map(value, where: str, path: Path) -> dict[str, str]:
    return {_text(k, f"{where} key", path, allow_empty=False): _text(v, f"{where}.{k}", path)
            for k, v in _mapping(value, where, path).items()}


# The text encodings DuckDB reads without an extension (none can be downloaded here), by the
# spellings exports and profiles use. Windows-1252 is not latin-1 (0x80-0x9F differ) and is refused.
_ENCODINGS = {"utf-8": "utf-8", "utf8": "utf-8", "utf-16": "utf-16", "utf16": "utf-16",
              "latin-1": "latin-1", "latin1": "latin-1", "iso-8859-1": "latin-1", "iso8859-1": "latin-1"}


def _encoding(value, path: Path) -> str | None:
    if value is None:
        return None
    name = _ENCODINGS.get(_text(value, "encoding", path).strip().lower())
    if name is None:
        raise InputError(f"The source profile {path}: `encoding` {value!r} is not one of utf-8, utf-16, latin-1.")
    return name


def _delimiter(value, path: Path) -> str | None:
    if value is None:
        return None
    text = _text(value, "delimiter", path)
    if len(text) != 1 or text in ('"', "\n", "\r"):
        raise _refuse(path, "`delimiter` must be one character other than a quote or a line break, such as \";\"")
    return text


def _read_document(path: Path):
    try:
        if path.is_dir():
            raise InputError(f"The source profile {path} is a folder; name the profile's YAML file.")
        size = path.stat().st_size
        if size > MAX_PROFILE_BYTES:
            raise InputError(f"The source profile {path} is {size:,} bytes; a profile is a short YAML file "
                             f"(at most {MAX_PROFILE_BYTES:,} bytes).")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"The source profile {path} does not exist.") from None
    except UnicodeDecodeError as error:
        raise InputError(f"The source profile {path} is not UTF-8 text (byte {error.start + 1}); save it as "
                         "UTF-8.") from None
    except OSError as error:
        raise InputError(f"The source profile {path} cannot be read ({error.strerror or type(error).__name__}).") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise InputError(f"The source profile {path}{where} is not valid YAML.") from None
    except RecursionError:
        raise InputError(f"The source profile {path} nests too deeply to be a profile.") from None


def _kind_mapping(kind: str, spec, path: Path) -> KindMapping:
    spec = _mapping(spec, f"kinds.{kind}", path)
    mapped = _as_str_map(spec.get("columns"), f"kinds.{kind}.columns", path)
    unknown = sorted(set(mapped) - set(columns(kind)))
    if unknown:
        raise InputError(f"The source profile {path} maps unknown {kind} column(s) {', '.join(unknown)}.")
    blank = sorted(c for c, source in mapped.items() if not source.strip())
    if blank:
        raise _refuse(path, f"`kinds.{kind}.columns` names no source column for {', '.join(blank)}")
    constants = _as_str_map(spec.get("constants"), f"kinds.{kind}.constants", path)
    unknown = sorted(set(constants) - set(columns(kind)))
    if unknown:
        raise _refuse(path, f"`kinds.{kind}.constants` names unknown {kind} column(s) {', '.join(unknown)}")
    missing = [c for c in KINDS[kind]["required"] if c not in mapped and c not in constants]
    if missing:
        raise InputError(f"The source profile {path} gives no source for required {kind} column(s) {', '.join(missing)}.")
    match = _texts(spec.get("match"), f"kinds.{kind}.match", path) or list(mapped.values())
    if not match:
        raise _refuse(path, f"`kinds.{kind}` needs `match` (header columns) or `columns` to recognise its files")
    values = {}
    for column, table in _mapping(spec.get("values"), f"kinds.{kind}.values", path).items():
        if column not in columns(kind):
            raise _refuse(path, f"`kinds.{kind}.values` translates unknown {kind} column {column!s}")
        values[str(column)] = _as_str_map(table, f"kinds.{kind}.values.{column}", path)
    formats = _texts(spec.get("date_formats"), f"kinds.{kind}.date_formats", path)
    odd = [f for f in formats if "%" not in f]
    if odd:
        raise _refuse(path, f"`kinds.{kind}.date_formats` holds a format without any % directive "
                            "(strptime syntax, such as \"%d.%m.%Y\")")
    return KindMapping(kind, match, mapped, constants, values, formats)


def load_profile(path: Path) -> Profile:
    """Read and check a profile file; a mistake gets one sentence naming the file and the key.

    Every shape YAML allows is checked before use (a list where a mapping belongs, a mapping where
    text belongs, a format without directives), so no profile ends in a traceback.
    """
    path = Path(path)
    doc = _read_document(path)
    if not isinstance(doc, dict) or "kinds" not in doc:
        raise InputError(f"The source profile {path} needs a `kinds` mapping.")
    kinds = []
    for kind, spec in _mapping(doc.get("kinds"), "kinds", path).items():
        if kind not in KINDS:
            raise InputError(f"The source profile {path} names an unknown kind `{kind}` (known: {', '.join(KINDS)}).")
        kinds.append(_kind_mapping(kind, spec, path))
    local_codes = {}
    for code, target in _mapping(doc.get("local_codes"), "local_codes", path).items():
        code = _text(code, "local_codes key", path, allow_empty=False)
        target = {"loinc": target} if isinstance(target, _SCALARS) else _mapping(target, f"local_codes.{code}", path)
        if not _text(target.get("loinc"), f"local_codes.{code}.loinc", path).strip():
            raise InputError(f"The source profile {path}: local code `{code}` needs a `loinc` target.")
        local_codes[code] = {"loinc": _text(target["loinc"], f"local_codes.{code}.loinc", path),
                             "unit": _text(target.get("unit"), f"local_codes.{code}.unit", path)}
    return Profile(
        name=_text(doc.get("name"), "name", path) or path.stem,
        path=path,
        description=_text(doc.get("description"), "description", path),
        delimiter=_delimiter(doc.get("delimiter"), path),
        encoding=_encoding(doc.get("encoding"), path),
        kinds=kinds,
        local_codes=local_codes,
        default_units=_as_str_map(doc.get("default_units"), "default_units", path),
        numbers=_numbers(doc.get("numbers"), path),
        patient_id_namespace=str(doc["patient_id_namespace"]) if doc.get("patient_id_namespace") else None,
    )


def _numbers(value, path: Path) -> Numbers:
    """The separators a source names: `numbers: {decimal: ",", thousands: "."}`."""
    if value is None:
        return FLAT_NUMBERS
    spec = _as_str_map(value, "numbers", path)
    decimal, thousands = spec.get("decimal") or "", spec.get("thousands") or ""
    if decimal not in (".", ",") or thousands not in ("", ".", ",", " ", "'") or decimal == thousands:
        raise InputError(f"The source profile {path}: `numbers` needs `decimal` ('.' or ',') and a different "
                         f"`thousands` separator ('.', ',', ' ', \"'\" or none).")
    return Numbers(decimal=decimal, thousands=thousands or None)


def builtin_profiles() -> list[Profile]:
    return [load_profile(p) for p in sorted(BUILTIN_PROFILES_DIR.glob("*.yaml"))]
