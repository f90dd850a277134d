"""Loading a mixed folder in any order gives the same marts (contract section 5, issue 13).

The synthetic network export (flat + HL7 + FHIR for different thirds of one cohort, with
corrections, deletions, duplicates and quarantined rows) is loaded three times, in file order,
reversed and shuffled; each warehouse is built by dbt and its marts compared row for row, keyed
by the patient as identity resolved them.
"""
from __future__ import annotations

import random

import pytest

from etl.ingest.loader import ingest_paths
from etl.synth.mixed import write_mixed

from .conftest import build_in_subprocess
from .test_format_equivalence import _marts


@pytest.fixture(scope="module")
def orders(tmp_path_factory):
    root = tmp_path_factory.mktemp("order")
    mp = pytest.MonkeyPatch()
    mp.setenv("OSTEOREG_SECRET", "order-secret-of-at-least-32-characters")
    files = write_mixed(root / "mixed", 60, seed=7, messy=True)
    shuffled = files[:]
    random.Random(13).shuffle(shuffled)
    marts = {}
    for name, paths in {"sorted": files, "reversed": files[::-1], "shuffled": shuffled}.items():
        warehouse = root / name / "osteoreg.duckdb"
        report = ingest_paths(warehouse, paths)
        assert not report.failed, [(f.path.name, f.message) for f in report.failed]
        build_in_subprocess(warehouse)
        marts[name] = _marts(warehouse)
    mp.undo()
    return marts


@pytest.mark.parametrize("order", ["reversed", "shuffled"])
def test_load_order_does_not_change_the_marts(orders, order):
    for mart, (columns, rows) in orders["sorted"].items():
        assert orders[order][mart][0] == columns
        assert len(rows) > 0, mart
        assert orders[order][mart][1] == rows, mart
