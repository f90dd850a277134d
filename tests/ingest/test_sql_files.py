"""The ingest mapping's static SQL (`etl/ingest/sql/*.sql`, osteoreg issue 13): each file names its
parameters at the top, exactly the `{{ name }}` ones its text uses, and `sqltext.render` refuses
a caller that gives other ones."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from etl import sqltext

SQL_DIR = Path(__file__).resolve().parents[2] / "etl" / "ingest" / "sql"
FILES = sorted(SQL_DIR.glob("*.sql"))


def _declared(text: str) -> set[str]:
    header = text.split("-- parameters:\n", 1)[1]
    return {m.group(1) for m in re.finditer(r"^--   ([a-z_]+) ", header, re.M)}


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_a_mapping_file_names_the_parameters_it_uses(path):
    text = path.read_text(encoding="utf-8")
    used = set(re.findall(r"\{\{\s*([a-z_]+)\s*\}\}", text))
    assert used and _declared(text) == used


def test_render_refuses_a_missing_or_an_unknown_parameter():
    text = sqltext.template("etl.ingest", "fhir_skipped.sql")
    given = {"parsed": "t", "is_fracture": "false", "resource_types_used": "('Patient')"}
    assert "FROM t" in sqltext.render(text, **given)
    with pytest.raises(ValueError, match="resource_types_used"):
        sqltext.render(text, parsed="t", is_fracture="false")
    with pytest.raises(ValueError, match="extra"):
        sqltext.render(text, **given, extra="x")
