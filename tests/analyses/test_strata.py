"""Manufacturer strata: raw BMD is compared within one known manufacturer, and a stratum below the
small-cell limit (or `other`, the texts the vocabulary does not list) is neither named nor shown."""
from __future__ import annotations

import numpy as np
import pytest

from etl.analyses import ali, results, shi
from etl.analyses.disclosure import limit_in_effect
from etl.analyses.strata import manufacturer_strata, not_compared

from .conftest import cohort


@pytest.fixture(scope="module")
def mixed():
    """400 adults: 5 on GE Lunar (below the limit of 11), 40 on machines the vocabulary does not
    list, 15 without a manufacturer, the rest on Hologic."""
    frame = cohort(400, 16).reset_index(drop=True)
    frame["sex"] = np.where(np.arange(len(frame)) % 3 == 0, "M", "F")
    frame["mg_deficient"] = frame["mg_mmol_l"] < 0.80
    frame["vitd_status"] = np.where(frame["vitd_nmol_l"] < 50, "deficient", "sufficient")
    frame["pth_elevated"] = frame["pth_ng_l"] > 65
    frame["hypocalcemia"] = frame["calcium_mmol_l"] < 2.2
    frame["manufacturer"] = "hologic"
    frame.loc[0:4, "manufacturer"] = "ge_lunar"
    frame.loc[5:44, "manufacturer"] = "other"
    frame.loc[45:59, "manufacturer"] = None
    return frame


def test_only_known_manufacturers_at_or_above_the_limit_are_strata(mixed):
    with limit_in_effect(11):
        strata = list(manufacturer_strata(mixed))
        assert [(s.manufacturer, s.name, len(s.rows)) for s in strata] == [("hologic", "Hologic", len(mixed) - 60)]
        bmd = ["bmd_lumbar_spine", "bmd_femoral_neck", "bmd_total_hip"]
        assert not_compared(mixed, bmd) == int(mixed.loc[:59, bmd].notna().any(axis=1).sum()) == 60
    with limit_in_effect(5):     # at the limit a stratum is named
        assert [s.manufacturer for s in manufacturer_strata(mixed)] == ["hologic", "ge_lunar"]


def test_ali_and_shi_name_no_small_or_unrecognised_stratum(mixed):
    with limit_in_effect(11):
        studied = ali.analyse(mixed)
        tables = shi.group_tables(mixed)
    correlations = studied.correlations
    published = results.tables(results.Analyses(None, studied, None, limit=11))
    assert {c.stratum for c in correlations} == {None, "Hologic"}
    hologic = mixed[mixed["manufacturer"] == "hologic"]
    hip = next(c for c in correlations if c.stratum == "Hologic" and c.y == "BMD total hip")
    pair = hologic[["vitd_nmol_l", "bmd_total_hip"]].dropna()
    assert hip.n == len(pair)
    op = tables["osteoporosis"]
    variables = [r.variable for r in op.rows]
    assert [v for v in variables if "|" in v] == ["bmd_lumbar_spine|hologic", "bmd_femoral_neck|hologic",
                                                  "bmd_total_hip|hologic"]
    left_out = next(r for r in op.rows if r.variable == "bmd_without_manufacturer")
    assert left_out.n_left_out == 60
    assert set(published["ali_correlations"]["stratum"].dropna()) == {"Hologic"}
    shown = repr(op.frame().to_dict("records")) + "".join(t.to_csv() for t in published.values())
    assert "lunar" not in shown.lower() and "other" not in shown.lower()
