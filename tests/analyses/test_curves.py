"""Decision curve, nomogram, calibration and group tables by hand."""
import numpy as np
import pandas as pd
import pytest

from etl.analyses import calibration, decision_curve, nomogram, tables


def test_net_benefit_by_hand():
    p = np.array([0.9, 0.6, 0.4, 0.2, 0.1])
    y = np.array([True, False, True, False, False])
    table = decision_curve.net_benefit(p, y, [0.25, 0.5]).set_index("threshold")
    # pt 0.25: treated 0.9, 0.6, 0.4 -> TP 2, FP 1; odds 1/3
    assert table.loc[0.25, "model"] == pytest.approx(2 / 5 - 1 / 5 * (1 / 3))
    assert table.loc[0.25, "treat_all"] == pytest.approx(0.4 - 0.6 * (1 / 3))
    # pt 0.5: treated 0.9, 0.6 -> TP 1, FP 1; odds 1
    assert table.loc[0.5, "model"] == pytest.approx(0.0) and table.loc[0.5, "treat_none"] == 0.0


def test_nomogram_points_by_hand():
    # beta 2 over range 0..10 (span 20) is the widest: 0..100 points; beta -1 over 0..5 (span 5): 25 points
    picture = nomogram.build(-3.0, {"a": 2.0, "b": -1.0}, {"a": (0.0, 10.0), "b": (0.0, 5.0)}, ticks=3)
    a, b = picture.scales
    assert a.points == pytest.approx([0, 50, 100]) and a.values == pytest.approx([0, 5, 10])
    assert b.points == pytest.approx([25 * 1.0, 12.5, 0.0])       # b = 0 is the high-risk end
    assert picture.points_per_logit == pytest.approx(5.0)
    assert picture.intercept_at_zero_points == pytest.approx(-3.0 + 2 * 0 - 1 * 5)
    # total 125 points = every predictor at its worst: lp = -3 + 20 - 0
    assert picture.total_points[-1] == pytest.approx(125)
    assert picture.probability[-1] == pytest.approx(1 / (1 + np.exp(-17.0)))


def test_cross_validated_predictions_never_see_their_row():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=200)})
    frame["y"] = rng.random(200) < 1 / (1 + np.exp(-frame["x"]))
    predicted = calibration.cross_validated(frame, "y", ["x"], 5, 1)
    fold = calibration.fold_numbers(200, 5, 1)
    import statsmodels.api as sm
    train = fold != 0
    model = sm.Logit(frame["y"][train].astype(float), sm.add_constant(frame["x"][train])).fit(disp=0)
    expected = model.predict(sm.add_constant(frame["x"][~train]))
    assert predicted[~train].to_numpy() == pytest.approx(expected.to_numpy())


def test_smoothed_calibration_of_a_calibrated_model_follows_the_diagonal():
    rng = np.random.default_rng(4)
    p = rng.uniform(0.05, 0.8, 4000)
    y = rng.random(4000) < p
    curve = calibration.smoothed(p, y, 2 / 3, 30, 1, 20_000)
    assert np.max(np.abs(curve.observed - curve.grid)) < 0.05
    assert np.all(curve.band_low <= curve.observed + 1e-9) and np.all(curve.observed <= curve.band_high + 1e-9)
    assert curve.grid[0] == pytest.approx(np.percentile(p, 5))


def test_censored_values_counted_and_corrected_calcium_row():
    frame = pd.DataFrame({"g": [True] * 12 + [False] * 12,
                          "pth_ng_l": [None] * 2 + list(range(30, 50, 2)) + list(range(40, 64, 2)),
                          "pth_ng_l_censored": [True] * 2 + [False] * 9 + [True] * 13,
                          "calcium_corrected_mmol_l": np.linspace(2.1, 2.5, 24)})
    row = tables.continuous_row(frame, "g", {False: "no", True: "yes"}, "pth_ng_l", "PTH")
    assert row.n_censored == 15
    assert row.values["no"]["n"] == 12 and row.cells["yes"] == "suppressed"     # 10 values: small
    calcium = tables.corrected_calcium_row(frame, "g", {False: "no", True: "yes"})
    assert calcium.values["no"]["mean"] == pytest.approx(np.linspace(2.1, 2.5, 24)[12:].mean())
    small = tables.continuous_row(frame.iloc[:15], "g", {False: "no", True: "yes"}, "pth_ng_l", "PTH")
    assert small.cells["no"] == "suppressed" and small.p_value is None
    few = tables.continuous_row(frame.assign(pth_ng_l_censored=[True] * 3 + [False] * 21), "g",
                                {False: "no", True: "yes"}, "pth_ng_l", "PTH")
    assert few.n_censored is None          # 3 censored values: a small count, not shown


def test_side_by_side_puts_the_papers_figures_beside_the_registrys(women):
    from etl.analyses import ali, shi, side_by_side

    adults = women.assign(mg_deficient=women["mg_mmol_l"] < 0.8,
                          vitd_status=np.where(women["vitd_nmol_l"] < 50, "deficient", "sufficient"),
                          pth_elevated=women["pth_ng_l"] > 65, hypocalcemia=women["calcium_mmol_l"] < 2.2)
    s, a = shi.analyse(women, shi.DEFAULT.__class__(bootstrap=5)), ali.analyse(adults)
    table = side_by_side.table(s, a).set_index("figure")
    assert list(table.columns) == ["paper", "paper_n", "registry", "registry_n", "comparable_population"]
    row = table.loc["adjusted OR, Mg <= 0.845 mmol/L"]
    mg = s.odds_ratios[0]
    assert row["paper"] == "1.940 (1.312–2.868)" and row["paper_n"] == 496
    assert row["registry"] == f"{mg.odds_ratio:.3f} ({mg.ci_low:.3f}–{mg.ci_high:.3f})" and row["registry_n"] == mg.n
    assert table.loc["AUROC of magnesium alone", "paper"] == "0.602 (0.551–0.652)"
    assert table.loc["OR(Mg deficiency) / OR(vitamin D deficiency), one model", "registry_n"] == a.weight.n
    assert table["comparable_population"].str.startswith(("yes", "partly")).all()
    assert len(side_by_side.table(None, None)) == 0


def test_a_small_group_is_suppressed_not_bounded():
    frame = pd.DataFrame({"g": [True] * 4 + [False] * 20, "x": np.arange(24.0)})
    table = tables.compare(frame, "g", {False: "no", True: "yes"}, [("x", "X")])
    patients = table.rows[0]
    assert patients.cells == {"no": "20", "yes": "suppressed"} and patients.values["yes"] is None
    assert table.rows[1].cells["yes"] == "suppressed" and table.rows[1].p_value is None


def test_a_small_missing_count_is_not_derivable_from_the_ns():
    frame = pd.DataFrame({"g": [True] * 30 + [False] * 30, "x": [np.nan] * 3 + list(np.arange(57.0))})
    row = tables.continuous_row(frame, "g", {False: "no", True: "yes"}, "x", "X")
    assert row.values["yes"]["n"] is None and row.values["yes"]["mean"] == pytest.approx(np.arange(27.0).mean())
    assert row.values["no"]["n"] == 30                       # nobody missing: nothing to derive
