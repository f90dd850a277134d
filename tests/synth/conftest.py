"""Small generated exports shared by the synth tests (each written once per session, in tmp)."""
from __future__ import annotations

import pytest

from etl.synth.cohort import generate
from etl.synth.flat import write_flat

ALL_FORMATS = ("csv", "tsv", "parquet")


@pytest.fixture(scope="session")
def messy_export(tmp_path_factory):
    """400 patients, labs in two parts (CSV + Parquet), DXA as TSV, an overlapping export."""
    out = tmp_path_factory.mktemp("messy_export")
    manifest = write_flat(out, 400, lab_files=2, formats=ALL_FORMATS)
    return out, manifest


@pytest.fixture(scope="session")
def large_cohort():
    """20,000 patients in memory: enough for the truth model's statistics (about 1.5 s)."""
    return generate(20_000)
