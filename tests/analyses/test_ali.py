"""Ali reproduction against scipy/statsmodels computed directly."""
import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats

from etl.analyses import ali

from .conftest import cohort


@pytest.fixture(scope="module")
def adults():
    frame = cohort(1200, 7)
    rng = np.random.default_rng(7)
    frame["sex"] = rng.choice(["F", "M"], len(frame), p=[0.7, 0.3])
    frame.loc[:4, "sex"] = "unknown"
    frame["mg_deficient"] = (frame["mg_mmol_l"] < 0.80).astype(object)
    frame.loc[frame.index[::50], "mg_deficient"] = None
    frame["vitd_status"] = np.where(frame["vitd_nmol_l"] < 50, "deficient", "sufficient")
    frame["pth_elevated"] = frame["pth_ng_l"] > 65
    frame["hypocalcemia"] = frame["calcium_mmol_l"] < 2.2
    return frame


def test_spearman_with_the_bonett_wright_interval(adults):
    result = ali.correlations(adults)
    first = result[0]
    assert (first.x, first.y) == ("magnesium", "CRP")
    rho = stats.spearmanr(adults["mg_mmol_l"], adults["crp_mg_l"]).statistic
    assert first.rho == pytest.approx(rho) and first.n == 1200
    se = np.sqrt((1 + rho ** 2 / 2) / (1200 - 3))
    assert first.ci_low == pytest.approx(np.tanh(np.arctanh(rho) - 1.959963984540054 * se))
    bmd = [c for c in result if c.stratum == "Hologic" and c.y == "BMD total hip"]
    hologic = adults[adults["manufacturer"] == "hologic"]
    assert bmd[0].rho == pytest.approx(stats.spearmanr(hologic["vitd_nmol_l"], hologic["bmd_total_hip"]).statistic)


def test_odds_ratios_side_by_side_equal_statsmodels(adults):
    ratios, weight = ali.odds_ratios(adults)
    assert [r.term for r in ratios] == ["magnesium deficiency", "vitamin D deficiency", "PTH elevation",
                                        "hypocalcaemia"]
    data = adults[adults["sex"].isin(["F", "M"])].dropna(subset=["mg_deficient"]).copy()
    data["y"] = data["osteoporosis"].astype(int)
    data["x"] = data["mg_deficient"].astype(int)
    fit = smf.logit("y ~ x + age_at_scan + C(sex)", data).fit(disp=0)
    assert ratios[0].odds_ratio == pytest.approx(np.exp(fit.params["x"]), rel=1e-6)
    assert ratios[0].n == len(data)
    both = adults[adults["sex"].isin(["F", "M"])].dropna(subset=["mg_deficient"]).copy()
    both["y"] = both["osteoporosis"].astype(int)
    both["mg"] = both["mg_deficient"].astype(int)
    both["vd"] = (both["vitd_status"] == "deficient").astype(int)
    joint = smf.logit("y ~ mg + vd + age_at_scan + C(sex)", both).fit(disp=0)
    difference = joint.params["mg"] - joint.params["vd"]
    cov = joint.cov_params()
    se = np.sqrt(cov.loc["mg", "mg"] + cov.loc["vd", "vd"] - 2 * cov.loc["mg", "vd"])
    assert weight.ratio == pytest.approx(np.exp(difference), rel=1e-6)
    assert weight.ci_high == pytest.approx(np.exp(difference + 1.959963984540054 * se), rel=1e-6)


def test_small_groups_are_withheld(adults):
    few = adults.iloc[10:70].copy()
    few["pth_elevated"] = [True] * 3 + [False] * 57
    ratios, _ = ali.odds_ratios(few)
    assert ratios[2].odds_ratio is None and ratios[2].n == 0
    correlations = ali.correlations(adults.head(8))
    assert all(c.rho is None and c.n is None for c in correlations)
