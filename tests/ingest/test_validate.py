"""Number parsing of `validate.number` / `ambiguous_number` (contract section 2), table-driven.

Every case runs the SQL the loader runs, in DuckDB. The 1,000x cases (`1,250 pg/mL` beta-CTx read
as 1.25) are the reason for the table: a comma followed by three digits is never guessed.
"""
from __future__ import annotations

import duckdb
import pytest

from etl.ingest.numbers import FLAT_NUMBERS, STRICT_NUMBERS, Numbers
from etl.ingest.validate import ambiguous_number, number

GERMAN = Numbers(decimal=",", thousands=".")

CASES = [
    # text, numbers, expected value, ambiguous
    ("0.82", FLAT_NUMBERS, 0.82, False),
    ("0,82", FLAT_NUMBERS, 0.82, False),
    ("12,5", FLAT_NUMBERS, 12.5, False),
    ("<0,20", FLAT_NUMBERS, 0.20, False),
    (">= 150", FLAT_NUMBERS, 150.0, False),
    ("=0.80", FLAT_NUMBERS, 0.80, False),
    ("0,825", FLAT_NUMBERS, 0.825, False),     # a thousands group never follows a lone 0
    ("1,250", FLAT_NUMBERS, None, True),       # beta-CTx pg/mL: 1250 or 1.25?
    ("1,234", FLAT_NUMBERS, None, True),       # PTH
    ("12,345,678", FLAT_NUMBERS, None, True),
    ("1.234,5", FLAT_NUMBERS, None, True),
    ("1,234.5", FLAT_NUMBERS, None, True),
    ("1_500", FLAT_NUMBERS, None, False),      # DuckDB's cast would read 1500
    ("abc", FLAT_NUMBERS, None, False),
    ("nan", FLAT_NUMBERS, None, False),
    ("1e3", FLAT_NUMBERS, 1000.0, False),
    ("-2.6", FLAT_NUMBERS, -2.6, False),
    ("0,82", STRICT_NUMBERS, None, False),     # HL7 NM/SN, FHIR: never a comma
    ("1,250", STRICT_NUMBERS, None, False),
    ("0.82", STRICT_NUMBERS, 0.82, False),
    ("1.234,5", GERMAN, 1234.5, False),        # the profile names its separators
    ("1,250", GERMAN, 1.25, False),
    ("1.250", GERMAN, 1250.0, False),
    ("<0,2", GERMAN, 0.2, False),
]


@pytest.mark.parametrize(("text", "numbers", "expected", "ambiguous"), CASES)
def test_number(text, numbers, expected, ambiguous):
    value, is_ambiguous = duckdb.connect().execute(
        f"SELECT {number('v', numbers)}, {ambiguous_number('v', numbers)} FROM (SELECT ?::VARCHAR AS v)",
        [text]).fetchone()
    assert value == (pytest.approx(expected) if expected is not None else None)
    assert is_ambiguous is ambiguous
