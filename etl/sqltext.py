"""Quoting text into SQL for DuckDB: the one copy of the rules, for the few places that must
build SQL text (a seed's values as CASE arms, a file path in ATTACH or read_csv, a table name
read from the catalogue). Values a statement can bind as parameters are bound instead.
"""
from __future__ import annotations

import os
import re
from importlib import resources

# A parameter of a static SQL file: `{{ name }}`, listed in the file's `-- parameters:` line.
_PARAMETER = re.compile(r"\{\{\s*([a-z_][a-z0-9_]*)\s*\}\}")


def literal(value: str | os.PathLike) -> str:
    """A string literal: single quotes, each inner quote doubled (SQL standard)."""
    return "'" + str(value).replace("'", "''") + "'"


def identifier(name: str) -> str:
    """A quoted identifier: double quotes, each inner double quote doubled (SQL standard)."""
    return '"' + name.replace('"', '""') + '"'


def literal_list(values) -> str:
    """`'a', 'b'` for an IN list, in the order given."""
    return ", ".join(literal(value) for value in values)


def template(package: str, name: str) -> str:
    """The text of the static SQL file `sql/<name>` of `package` (package data)."""
    return resources.files(package).joinpath("sql", name).read_text(encoding="utf-8")


def render(text: str, **parameters: str) -> str:
    """A static SQL file's text with its `{{ name }}` parameters filled in. The parameters are
    SQL fragments the caller built (table names, seed CASE arms, quoted literals), never input
    values; every one the file uses must be given and every one given must be used, so a file
    and its caller cannot drift apart silently."""
    used = set(_PARAMETER.findall(text))
    if used != set(parameters):
        raise ValueError(f"SQL parameters differ: the file uses {sorted(used)}, the caller gives {sorted(parameters)}")
    return _PARAMETER.sub(lambda m: parameters[m.group(1)], text)


__all__ = ["identifier", "literal", "literal_list", "render", "template"]
