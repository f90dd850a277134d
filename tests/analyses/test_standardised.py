"""Standardised prevalence against published tables and hand calculations."""
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from etl.analyses import standardised
from etl.rules import dbt_var


def test_one_stratum_is_the_exact_poisson_interval_of_the_published_table():
    # Exact (Garwood) 95% limits for an observed count of 10: 4.795 and 18.390 (e.g. Daly, BMJ
    # 1992;305:1277 / the Poisson tables of Documenta Geigy); the rate is per 100.
    result = standardised.fay_feuer([10], [100], [1.0])
    assert result.rate == pytest.approx(0.10)
    assert 100 * result.ci_low == pytest.approx(4.795, abs=5e-4)
    assert 100 * result.ci_high == pytest.approx(18.390, abs=5e-4)
    zero = standardised.fay_feuer([0], [50], [1.0])
    assert zero.ci_low == 0.0
    assert 50 * zero.ci_high == pytest.approx(3.689, abs=5e-4)       # Garwood upper limit for 0


def test_two_strata_by_hand():
    # weights 0.7 / 0.3; 5 of 20 and 30 of 60 deficient
    result = standardised.fay_feuer([5, 30], [20, 60], [7, 3])
    rate = 0.7 * 0.25 + 0.3 * 0.5
    variance = 0.49 * 5 / 400 + 0.09 * 30 / 3600
    wm = max(0.7 / 20, 0.3 / 60)
    assert result.rate == pytest.approx(rate)
    assert result.variance == pytest.approx(variance)
    # Fay & Feuer's chi-square form: (v / 2y) chi2_{2y^2/v}
    assert result.ci_low == pytest.approx(variance / (2 * rate) * stats.chi2.ppf(0.025, 2 * rate ** 2 / variance))
    v2, y2 = variance + wm ** 2, rate + wm
    assert result.ci_high == pytest.approx(v2 / (2 * y2) * stats.chi2.ppf(0.975, 2 * y2 ** 2 / v2))
    missing = standardised.fay_feuer([5, 0], [20, 0], [7, 3])
    assert missing.rate == pytest.approx(0.25) and missing.weight_missing == pytest.approx(0.3)


def test_esp_2013_summed_into_the_registry_bands():
    standard = standardised.esp2013()
    assert standard["population"].sum() == 100_000 and len(standard) == 20
    weights = standardised.esp_weights(dbt_var("age_band_lower_bounds"))
    by_band = weights.groupby("age_band")["weight"].sum().to_dict()
    assert by_band == pytest.approx({"<50": 0.61, "50-59": 0.135, "60-69": 0.115, "70-79": 0.09, "80+": 0.05})
    assert weights.groupby("sex")["weight"].sum().to_dict() == pytest.approx({"F": 0.5, "M": 0.5})


def _counts():
    rows = []
    for year, shift in ((2021, 0), (2022, 1), (2023, 2), (2024, 3)):
        for sex, band, n, k in (("F", "50-59", 40, 8 + shift), ("F", "70-79", 30, 9 + shift),
                                ("M", "50-59", 20, 2), ("M", "70-79", 10 + shift, 3)):
            rows.append({"year": year, "sex": sex, "age_band": band, "n_assessed": n, "n_deficient": k})
    rows.append({"year": 2024, "sex": "unknown", "age_band": "50-59", "n_assessed": 3, "n_deficient": 1})
    return pd.DataFrame(rows)


def test_yearly_crude_and_standardised_by_hand():
    counts = _counts()
    weights = pd.DataFrame({"sex": ["F", "F", "M", "M"], "age_band": ["50-59", "70-79", "50-59", "70-79"],
                            "weight": [0.25, 0.25, 0.25, 0.25]})
    table = standardised.yearly(counts, weights).set_index("year")
    assert table.loc[2021, "crude"] == pytest.approx(22 / 100)
    assert table.loc[2021, "standardised"] == pytest.approx(0.25 * (8 / 40 + 9 / 30 + 2 / 20 + 3 / 10))
    assert table.loc[2024, "n_assessed"] == 40 + 30 + 20 + 13 + 3 and table.loc[2024, "n_unknown_sex"] == 3
    pooled = standardised.pooled_weights(counts[counts["sex"].isin(["F", "M"])])
    assert pooled["weight"].sum() == pytest.approx(1.0)
    assert pooled.set_index(["sex", "age_band"]).loc[("M", "70-79"), "weight"] == pytest.approx(46 / 406)


def test_trend_equals_a_logistic_regression_on_patients():
    import statsmodels.formula.api as smf

    counts = _counts()
    counts = counts[counts["sex"] != "unknown"]
    result = standardised.trend(counts)
    patients = pd.DataFrame([{"year": r.year - 2021, "sex": r.sex, "band": r.age_band, "y": int(i < r.n_deficient)}
                             for r in counts.itertuples() for i in range(r.n_assessed)])
    fit = smf.logit("y ~ year + C(sex) + C(band)", patients).fit(disp=0)
    assert result.odds_ratio_per_year == pytest.approx(math.exp(fit.params["year"]), rel=1e-6)
    assert result.p_value == pytest.approx(fit.pvalues["year"], rel=1e-4)
    assert result.years == 4
    assert standardised.trend(counts[counts["year"] < 2023]) is None


def test_latest_complete_year():
    assert standardised.latest_complete_year([2022, 2023, 2024], "2024-06-30") == 2023
    assert standardised.latest_complete_year([2022, 2023, 2024], "2024-12-31") == 2024
    assert standardised.latest_complete_year([2024], "2024-03-01") is None
    assert standardised.band_label(49, [50, 60, 70, 80]) == "<50"
    assert standardised.band_label(80, [50, 60, 70, 80]) == "80+"
    assert standardised.band_label(65, [50, 60, 70, 80]) == "60-69"
