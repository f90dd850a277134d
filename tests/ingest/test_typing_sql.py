"""Golden renderings of the generated typing SQL: a change to a kind's declaration (in
`etl/ingest/validate.py`) shows in review as a diff of these `.sql` files.

After an intended change, rewrite them with `OSTEOREG_WRITE_GOLDEN=1 pytest tests/ingest/test_typing_sql.py`
and commit the diff with the change.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from etl.ingest.canonical import KINDS, columns
from etl.ingest.validate import kind_sql, typed_query

GOLDEN = Path(__file__).with_name("golden")


def _rendering(kind: str) -> str:
    """The typing query of a flat file that has every canonical column and a profile date format,
    as the loader runs it (rows numbered later by file order)."""
    query = typed_query(kind, "src_example", columns(kind), ["%d.%m.%Y"], numbered=False)
    lines = [line.rstrip() for line in query.strip("\n").splitlines()]
    indent = min(len(line) - len(line.lstrip()) for line in lines if line.strip())
    return "\n".join(line[indent:] for line in lines) + "\n"


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_the_typing_sql_of_each_kind_matches_its_golden_rendering(kind):
    golden = GOLDEN / f"typed_query_{kind}.sql"
    rendered = _rendering(kind)
    if os.environ.get("OSTEOREG_WRITE_GOLDEN"):
        golden.write_text(rendered, encoding="utf-8")
    assert golden.exists(), f"{golden} is missing; write it with OSTEOREG_WRITE_GOLDEN=1"
    assert rendered == golden.read_text(encoding="utf-8")


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_each_declaration_names_its_raw_table_and_checks(kind):
    spec = kind_sql(kind, [])
    assert spec.raw_table.startswith("raw.")
    assert [c.reason for c in spec.checks][:1] == ["missing_patient_id"]
    typed = {name for name, _ in spec.typed} | {name for name, _ in spec.lookups} | {n for n, _ in spec.derived}
    assert set(spec.hash_columns) <= typed and set(spec.raw_columns) <= typed


def test_an_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="unknown kind medications"):
        kind_sql("medications", [])
