"""The clinical rules in effect: what the last build used, read from `marts.rules_in_effect`.

Every rule lives once, as a dbt var (`dbt_project/dbt_project.yml`) with its unit and source in
the seed `rule_catalog.csv`. A registry may override any var at build time (`osteoreg build
--vars`), so the defaults in the YAML are not what the marts were built with; the build records
the values it used in `marts.rules_in_effect`, and Python that needs a threshold (checks,
scoring, the report) reads that table here, from the warehouse or the published snapshot alike.

`project_vars` (the YAML's defaults) is for what runs before or without a build: refusing an
unknown `--vars` name, and the synthetic cohort's truth model.
"""
from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

import yaml

from .errors import UsageError
from .paths import DBT_PROJECT_DIR

RULES_TABLE = "marts.rules_in_effect"


@dataclass(frozen=True)
class Rule:
    """One rule as the build used it; `value` is decoded from the table's JSON text."""

    rule_name: str
    value: Any
    unit: str | None
    source: str | None


@dataclass(frozen=True)
class RulesInEffect:
    """The rules one build used, and what identifies that build."""

    rules: tuple[Rule, ...]
    built_at: datetime | None
    dbt_invocation_id: str | None
    osteoreg_version: str | None
    dbt_version: str | None
    max_load_id: int | None

    def _rule(self, name: str) -> Rule:
        for rule in self.rules:
            if rule.rule_name == name:
                return rule
        raise UsageError(f"The build's rules in effect have no rule {name!r}; run `osteoreg build` with this "
                         "version of osteoreg.")

    def value(self, name: str) -> Any:
        """The value the build used (a number, or a list such as `age_band_lower_bounds`)."""
        return self._rule(name).value

    def unit(self, name: str) -> str | None:
        return self._rule(name).unit

    def source(self, name: str) -> str | None:
        return self._rule(name).source

    def rows(self) -> tuple[Rule, ...]:
        """Every rule, in the table's order (by name), for tables in reports and model cards."""
        return self.rules


def load_rules(con) -> RulesInEffect:
    """The rules in effect from any DuckDB connection (warehouse or snapshot).

    Raises UsageError when the table is absent, i.e. nothing has been built (or published) yet.
    """
    schema, table = RULES_TABLE.split(".")
    present = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ? "
        "AND table_catalog = current_database()", [schema, table]).fetchone()[0]
    if not present:
        raise UsageError(f"There is no {RULES_TABLE} yet, so the rules in effect are unknown; run osteoreg build first.")
    rows = con.execute(
        f"SELECT rule_name, value, unit, source, built_at, dbt_invocation_id, osteoreg_version, dbt_version, "
        f"max_load_id FROM {RULES_TABLE} ORDER BY rule_name").fetchall()
    if not rows:
        raise UsageError(f"{RULES_TABLE} is empty, so the rules in effect are unknown; run osteoreg build first.")
    first = rows[0]
    return RulesInEffect(
        rules=tuple(Rule(name, json.loads(value), unit, source) for name, value, unit, source, *_ in rows),
        built_at=first[4], dbt_invocation_id=first[5], osteoreg_version=first[6], dbt_version=first[7],
        max_load_id=first[8])


@lru_cache(maxsize=None)
def _dbt_vars() -> dict:
    with (DBT_PROJECT_DIR / "dbt_project.yml").open(encoding="utf-8") as handle:
        return yaml.safe_load(handle).get("vars", {})


def project_vars() -> dict:
    """The vars `dbt_project.yml` defines, with their defaults (not what a build used)."""
    return dict(_dbt_vars())


def refuse_unknown_vars(overrides: dict) -> None:
    """Raise UsageError naming each override the dbt project does not define, and its nearest var.

    dbt accepts any `--vars` name silently, so a misspelt rule would leave the registry believing
    it changed a definition while the marts keep the default.
    """
    known = _dbt_vars()
    unknown = [str(name) for name in overrides if name not in known]
    if not unknown:
        return
    parts = []
    for name in unknown:
        nearest = difflib.get_close_matches(name, list(known), n=1, cutoff=0.5)
        parts.append(f"{name!r} (did you mean {nearest[0]!r}?)" if nearest else repr(name))
    raise UsageError(f"--vars names no rule of the dbt project: {', '.join(parts)}; the project's rules are "
                     "listed in dbt_project/seeds/rule_catalog.csv.")


def dbt_var(name: str):
    """A rule's default in the dbt project; code that runs after a build reads `load_rules` instead."""
    variables = _dbt_vars()
    if name not in variables:
        raise UsageError(f"The dbt project defines no var {name!r}.")
    return variables[name]


__all__ = ["RULES_TABLE", "Rule", "RulesInEffect", "dbt_var", "load_rules", "project_vars", "refuse_unknown_vars"]
