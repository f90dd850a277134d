"""Shi reproduction against statsmodels' formula interface, hand counts, and a seeded recovery."""
import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from etl.analyses import shi
from etl.analyses.settings import DEFAULT, SHI_MG_CUTOFF_MMOL_L

from .conftest import TRUE_MG_OR, cohort

COVARIATES = " + ".join(DEFAULT.shi_covariates)


def test_adjusted_odds_ratios_equal_statsmodels_formula(women):
    dichotomy, continuous = shi.adjusted_odds_ratios(women)
    data = women.assign(y=women["osteoporosis"].astype(int), low=(women["mg_mmol_l"] <= 0.845).astype(int))
    fit = smf.logit(f"y ~ low + {COVARIATES}", data).fit(disp=0)
    assert dichotomy.odds_ratio == pytest.approx(np.exp(fit.params["low"]), rel=1e-6)
    low, high = np.exp(fit.conf_int().loc["low"])
    assert (dichotomy.ci_low, dichotomy.ci_high) == (pytest.approx(low, rel=1e-6), pytest.approx(high, rel=1e-6))
    assert dichotomy.n == 1500 and dichotomy.n_outcomes == int(women["osteoporosis"].sum())
    per_mg = smf.logit(f"y ~ mg_mmol_l + {COVARIATES}", data).fit(disp=0)
    assert continuous.odds_ratio == pytest.approx(np.exp(0.1 * per_mg.params["mg_mmol_l"]), rel=1e-6)


def test_the_cutoff_is_the_papers_constant_even_if_the_registry_var_differs():
    assert SHI_MG_CUTOFF_MMOL_L == 0.845
    frame = shi.prepare(pd.DataFrame({"mg_mmol_l": [0.845, 0.846, None]}))
    assert frame[shi.MG_CUT].tolist()[:2] == [1.0, 0.0] and np.isnan(frame[shi.MG_CUT].iloc[2])


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_adjusted_or_recovers_the_generators_effect(seed):
    """Seeded cohorts drawn with OR 1.94 for Mg <= 0.845: the interval holds it (and excludes 1 at this size)."""
    dichotomy, _ = shi.adjusted_odds_ratios(cohort(4000, seed))
    assert dichotomy.ci_low < TRUE_MG_OR < dichotomy.ci_high
    assert dichotomy.ci_low > 1.0


def test_odds_ratio_withheld_for_small_groups(women):
    few = women.head(40).assign(osteoporosis=[True] * 5 + [False] * 35)
    dichotomy, _ = shi.adjusted_odds_ratios(few)
    assert dichotomy.odds_ratio is None and "fewer than 11" in dichotomy.reason


def test_marker_roc_and_paper_cutoff_by_hand(women):
    result = shi.marker_roc(women, "mg_mmol_l", "magnesium")
    y = women["osteoporosis"].to_numpy()
    mg = women["mg_mmol_l"].to_numpy()
    pairs = (mg[y][:, None] < mg[~y][None, :]).mean() + 0.5 * (mg[y][:, None] == mg[~y][None, :]).mean()
    assert result.auroc.auroc == pytest.approx(pairs)
    assert result.paper_cutoff_sensitivity == pytest.approx(np.mean(mg[y] <= 0.845))
    assert result.paper_cutoff_specificity == pytest.approx(np.mean(mg[~y] > 0.845))
    assert result.auroc.auroc > 0.5        # drawn with low Mg raising the risk


def test_group_tables_compare_bmd_only_within_a_manufacturer(women):
    tables = shi.group_tables(women)
    op = tables["osteoporosis"]
    variables = [row.variable for row in op.rows]
    assert "bmd_femoral_neck|hologic" in variables and "bmd_femoral_neck|ge_lunar" in variables
    assert "bmd_femoral_neck" not in variables
    age = next(r for r in op.rows if r.variable == "age_at_scan")
    from scipy import stats
    a = women.loc[women["osteoporosis"], "age_at_scan"]
    b = women.loc[~women["osteoporosis"], "age_at_scan"]
    assert age.p_value == pytest.approx(stats.f_oneway(b, a).pvalue)
    assert age.values["osteoporosis"]["mean"] == pytest.approx(a.mean())
    hologic = women[women["manufacturer"] == "hologic"]
    row = next(r for r in op.rows if r.variable == "bmd_total_hip|hologic")
    assert row.label == "BMD total hip, g/cm² (Hologic)"
    assert row.values["osteoporosis"]["mean"] == pytest.approx(hologic.loc[hologic["osteoporosis"], "bmd_total_hip"].mean())


def test_local_model_comparisons_and_curves(women):
    model = shi.local_model(women, DEFAULT.__class__(bootstrap=20))
    assert not isinstance(model, str)
    names = [other for _, other, _ in model.comparisons]
    assert names == ["OST", "magnesium alone", "age + BMI"]
    assert model.aurocs["local model"].auroc > model.aurocs["magnesium alone"].auroc
    for _, other, comparison in model.comparisons:
        assert comparison.auroc_b == pytest.approx(model.aurocs[other].auroc)
    assert np.all(model.calibration.band_low <= model.calibration.band_high + 1e-12)
    assert len(model.decision) == len(DEFAULT.decision_thresholds)
    assert 0.5 < model.calibration_slope < 1.5


def test_local_model_refuses_too_few_events(women):
    message = shi.local_model(women.head(200).assign(osteoporosis=[True] * 30 + [False] * 170))
    assert isinstance(message, str) and "60 patients" in message
