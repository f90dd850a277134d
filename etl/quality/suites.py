"""The suite files in `expectations/`, read and checked before any data is touched.

A suite file is a Great Expectations 1.x suite (`name`, `expectations`, `meta`). osteoreg adds
two things, both in `meta` so the file stays a plain GX suite:
- the suite's `meta.osteoreg`: `layer`, `table` (schema.table) and `row_keys` (the columns a
  failing row is reported by);
- each expectation's `meta`: a Kahn category, a severity and, where failures are allowed, the
  threshold `mostly` (copied into the expectation's kwargs here, so it is written once).
Seed facts enter through GX `{"$PARAMETER": name}` values, filled by `seeds.expectation_parameters`.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..paths import EXPECTATIONS_DIR

CATEGORIES = ("conformance", "completeness", "plausibility")   # Kahn et al. 2016 (eGEMs) harmonised DQ terms
SEVERITIES = ("critical", "warning")
_COLUMN_KWARGS = ("column", "column_list")


class SuiteError(UsageError):
    """A suite file that cannot be used as written, or a suite name that does not exist."""


@dataclass(frozen=True)
class Check:
    """One expectation as osteoreg reports it: where it looks, how bad a failure is."""

    key: str                      # stable across runs (the trend's grouping key)
    type: str
    kwargs: dict[str, Any]
    meta: dict[str, Any]

    @property
    def category(self) -> str:
        return self.meta["category"]

    @property
    def severity(self) -> str:
        return self.meta["severity"]

    @property
    def column(self) -> str | None:
        if "column_A" in self.kwargs:
            return f"{self.kwargs['column_A']},{self.kwargs['column_B']}"
        for name in _COLUMN_KWARGS:
            if name in self.kwargs:
                value = self.kwargs[name]
                return ",".join(value) if isinstance(value, list) else value
        return self.meta.get("column")


@dataclass(frozen=True)
class Suite:
    name: str
    path: Path
    layer: str
    table: str                    # schema.table
    row_keys: list[str]
    checks: list[Check] = field(default_factory=list)

    @property
    def schema_name(self) -> str:
        return self.table.split(".", 1)[0]

    @property
    def table_name(self) -> str:
        return self.table.split(".", 1)[1]

    def parameter_names(self) -> set[str]:
        return {name for check in self.checks for name in _parameters_in(check.kwargs)}


def _parameters_in(value: Any):
    if isinstance(value, dict):
        if set(value) == {"$PARAMETER"}:
            yield value["$PARAMETER"]
        else:
            for item in value.values():
                yield from _parameters_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from _parameters_in(item)


def _condition_label(condition: Any) -> str:
    """A short readable form of a row condition, to tell apart checks of one column."""
    if not condition:
        return ""
    kind = condition.get("type")
    if kind == "and":
        return "&".join(_condition_label(part) for part in condition["conditions"])
    if kind == "comparison":
        return f"{condition['column']['name']}{condition['operator']}{condition['parameter']}"
    if kind == "nullity":
        return f"{condition['column']['name']}{' is null' if condition['is_null'] else ' not null'}"
    return json.dumps(condition, sort_keys=True)


def _check(suite_name: str, position: int, raw: dict[str, Any]) -> Check:
    where = f"expectation {position + 1} of suite {suite_name}"
    if not isinstance(raw, dict) or "type" not in raw or not isinstance(raw.get("kwargs"), dict):
        raise SuiteError(f"The {where} needs a `type` and `kwargs`.")
    meta = dict(raw.get("meta") or {})
    kwargs = dict(raw["kwargs"])
    if meta.get("category") not in CATEGORIES:
        raise SuiteError(f"The {where} needs meta.category, one of {', '.join(CATEGORIES)}.")
    if meta.get("severity") not in SEVERITIES:
        raise SuiteError(f"The {where} needs meta.severity, one of {', '.join(SEVERITIES)}.")
    if "mostly" in kwargs:
        raise SuiteError(f"The {where} sets kwargs.mostly; the threshold belongs in meta.mostly only.")
    if "mostly" in meta:
        if not (isinstance(meta["mostly"], (int, float)) and 0 < meta["mostly"] <= 1):
            raise SuiteError(f"The {where} has meta.mostly outside (0, 1].")
        kwargs["mostly"] = meta["mostly"]
    column = Check(key="", type=raw["type"], kwargs=kwargs, meta=meta).column
    label = _condition_label(kwargs.get("row_condition"))
    key = f"{suite_name}:{raw['type']}:{column or 'table'}" + (f":{label}" if label else "")
    return Check(key=key, type=raw["type"], kwargs=kwargs, meta=meta)


def load_suite(path: Path) -> Suite:
    path = Path(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise SuiteError(f"The suite file {path} cannot be read as JSON: {error}.") from error
    name = document.get("name")
    osteoreg = (document.get("meta") or {}).get("osteoreg") or {}
    table = osteoreg.get("table", "")
    if not name or table.count(".") != 1 or not osteoreg.get("row_keys"):
        raise SuiteError(f"The suite file {path} needs a name and meta.osteoreg.table (schema.table) and row_keys.")
    checks = [_check(name, i, raw) for i, raw in enumerate(document.get("expectations") or [])]
    keys = [check.key for check in checks]
    duplicates = sorted({key for key in keys if keys.count(key) > 1})
    if duplicates:
        # Unexpected-rows checks share a column key; number them in file order to keep them stable.
        numbered: list[Check] = []
        seen: dict[str, int] = {}
        for check in checks:
            if check.key in duplicates:
                seen[check.key] = seen.get(check.key, 0) + 1
                check = Check(key=f"{check.key}#{seen[check.key]}", type=check.type, kwargs=check.kwargs, meta=check.meta)
            numbered.append(check)
        checks = numbered
    return Suite(name=name, path=path, layer=osteoreg.get("layer", ""), table=table,
                 row_keys=list(osteoreg["row_keys"]), checks=checks)


def load_suites(names: list[str] | None = None, directory: Path = EXPECTATIONS_DIR) -> list[Suite]:
    """All suites in `directory` (file order: raw, staging, marts by name), or the ones named."""
    directory = Path(directory)
    suites = [load_suite(path) for path in sorted(directory.glob("*.json"))]
    suites.sort(key=lambda suite: ({"raw": 0, "staging": 1, "marts": 2}.get(suite.layer, 3), suite.name))
    if names:
        known = {suite.name: suite for suite in suites}
        unknown = [name for name in names if name not in known]
        if unknown:
            raise SuiteError(f"No suite named {', '.join(unknown)} in {directory} (known: {', '.join(known)}).")
        suites = [known[name] for name in names]
    return suites
