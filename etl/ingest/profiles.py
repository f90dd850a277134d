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


def _as_str_map(value, where: str, path: Path) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InputError(f"{path}: `{where}` must be a mapping.")
    return {str(k): "" if v is None else str(v) for k, v in value.items()}


# The text encodings DuckDB reads without an extension (none can be downloaded here), by the
# spellings exports and profiles use. Windows-1252 is not latin-1 (0x80-0x9F differ) and is refused.
_ENCODINGS = {"utf-8": "utf-8", "utf8": "utf-8", "utf-16": "utf-16", "utf16": "utf-16",
              "latin-1": "latin-1", "latin1": "latin-1", "iso-8859-1": "latin-1", "iso8859-1": "latin-1"}


def _encoding(value, path: Path) -> str | None:
    if value is None:
        return None
    name = _ENCODINGS.get(str(value).strip().lower())
    if name is None:
        raise InputError(f"The source profile {path}: `encoding` {value!r} is not one of utf-8, utf-16, latin-1.")
    return name


def load_profile(path: Path) -> Profile:
    """Read and check a profile file; a mistake gets one sentence naming the file and the key."""
    path = Path(path)
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"The source profile {path} does not exist.") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise InputError(f"The source profile {path}{where} is not valid YAML.") from None
    if not isinstance(doc, dict) or "kinds" not in doc:
        raise InputError(f"The source profile {path} needs a `kinds` mapping.")
    kinds = []
    for kind, spec in (doc.get("kinds") or {}).items():
        if kind not in KINDS:
            raise InputError(f"The source profile {path} names an unknown kind `{kind}` (known: {', '.join(KINDS)}).")
        spec = spec or {}
        mapped = _as_str_map(spec.get("columns"), f"kinds.{kind}.columns", path)
        unknown = sorted(set(mapped) - set(columns(kind)))
        if unknown:
            raise InputError(f"The source profile {path} maps unknown {kind} column(s) {', '.join(unknown)}.")
        constants = _as_str_map(spec.get("constants"), f"kinds.{kind}.constants", path)
        missing = [c for c in KINDS[kind]["required"] if c not in mapped and c not in constants]
        if missing:
            raise InputError(f"The source profile {path} gives no source for required {kind} column(s) {', '.join(missing)}.")
        match = [str(m) for m in spec.get("match") or mapped.values()]
        values = {col: _as_str_map(m, f"kinds.{kind}.values.{col}", path) for col, m in (spec.get("values") or {}).items()}
        kinds.append(KindMapping(kind, match, mapped, constants, values, [str(f) for f in spec.get("date_formats") or []]))
    local_codes = {}
    for code, target in (doc.get("local_codes") or {}).items():
        target = {"loinc": target} if isinstance(target, str) else (target or {})
        if "loinc" not in target:
            raise InputError(f"The source profile {path}: local code `{code}` needs a `loinc` target.")
        local_codes[str(code)] = {"loinc": str(target["loinc"]), "unit": str(target.get("unit") or "")}
    return Profile(
        name=str(doc.get("name") or path.stem),
        path=path,
        description=str(doc.get("description") or ""),
        delimiter=doc.get("delimiter"),
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
