"""Quoting text into SQL for DuckDB: the one copy of the rules, for the few places that must
build SQL text (a seed's values as CASE arms, a file path in ATTACH or read_csv, a table name
read from the catalogue). Values a statement can bind as parameters are bound instead.
"""
from __future__ import annotations

import os


def literal(value: str | os.PathLike) -> str:
    """A string literal: single quotes, each inner quote doubled (SQL standard)."""
    return "'" + str(value).replace("'", "''") + "'"


def identifier(name: str) -> str:
    """A quoted identifier: double quotes, each inner double quote doubled (SQL standard)."""
    return '"' + name.replace('"', '""') + '"'


def literal_list(values) -> str:
    """`'a', 'b'` for an IN list, in the order given."""
    return ", ".join(literal(value) for value in values)


__all__ = ["identifier", "literal", "literal_list"]
