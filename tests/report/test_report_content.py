"""The report's figures read back from the page equal the marts and independent recomputations;
small cells are suppressed; the page refers to nothing outside itself."""
from __future__ import annotations

import csv
import re

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from etl import terminology

from etl.report import write_report
from etl.publish import snapshot_path
from etl.report.render import CHART_CLASS
from etl.scoring.settings import DEFAULT as SCORING

from ..warehouses import rows, rules_of
from .page import Page, integers, number

pytestmark = pytest.mark.slow

# Every patient's latest assessment with a WHO category, written independently of the report.
LATEST = """
WITH ranked AS (
    SELECT a.*, f.* EXCLUDE (assessment_id, patient_key),
           row_number() OVER (PARTITION BY a.patient_key ORDER BY a.scan_date DESC) AS r
    FROM marts.fct_bmd_assessment a LEFT JOIN marts.fct_deficiency_flags f USING (assessment_id)
    WHERE a.who_category IS NOT NULL)
SELECT * EXCLUDE (r) FROM ranked WHERE r = 1
"""


@pytest.fixture(scope="module")
def page(demo_report) -> Page:
    return Page(demo_report.html.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def latest(demo) -> pd.DataFrame:
    import duckdb

    with duckdb.connect(str(demo.path), read_only=True) as conn:
        return conn.sql(LATEST).df()


def test_overview_figures_equal_the_marts(demo, page, demo_report):
    for figure, table in (("patients", "dim_patient"), ("assessments", "fct_bmd_assessment"),
                          ("lab_results", "fct_lab_result")):
        assert number(page.figures[figure]) == rows(demo.path, f"SELECT count(*) FROM marts.{table}")[0][0]
    assert page.figures["loads"] == str(rows(demo.path, "SELECT count(*) FROM audit.loads")[0][0])
    assert page.figures["quality_status"] == rows(
        demo.path, "SELECT status FROM audit.quality_runs ORDER BY finished_at DESC LIMIT 1")[0][0]
    (read, quarantined), = rows(demo.path, "SELECT sum(rows_read), sum(rows_quarantined) FROM audit.loads")
    loads = page.body_rows("loads")[0][1]
    assert number(loads[0][1]) == read and number(loads[2][1]) == quarantined


def test_prevalence_by_year_equals_the_mart(demo, page):
    mart = rows(snapshot_path(demo.path), "SELECT year, n_assessed, n_deficient, prevalence, ci_low, ci_high, suppressed "
                           "FROM marts.mg_deficiency_prevalence_by_year ORDER BY year")
    shown = page.body_rows("prevalence-by-year")
    assert [int(attrs["data-year"]) for attrs, _ in shown] == [r[0] for r in mart]
    for (attrs, cells), (year, n, k, prevalence, low, high, suppressed) in zip(shown, mart):
        texts = [text for _, text in cells]
        if suppressed:
            assert texts[1].startswith("suppressed")
            continue
        assert [number(t) for t in texts[1:3]] == [n, k]
        assert [number(t) for t in texts[3:]] == [round(100 * v, 1) for v in (prevalence, low, high)]


def test_the_marts_wilson_interval_is_the_textbook_one(demo):
    """The report draws the marts' intervals (no Python copy of Wilson); they are statsmodels'."""
    from statsmodels.stats.proportion import proportion_confint

    for n, k, low, high in rows(demo.path, "SELECT n_assessed, n_deficient, ci_low, ci_high FROM "
                                           "marts.mg_deficiency_by_category_age WHERE NOT suppressed"):
        assert proportion_confint(k, n, alpha=0.05, method="wilson") == pytest.approx((low, high), abs=1e-9)


def test_headline_is_the_latest_complete_shown_year(demo, demo_report):
    # complete: the registry has scans after it (the year the data stop in is partial)
    year, n, prevalence, low, high = rows(
        snapshot_path(demo.path), "SELECT year, n_assessed, prevalence, ci_low, ci_high FROM marts.mg_deficiency_prevalence_by_year "
                   "WHERE NOT suppressed AND year < (SELECT year(max(scan_date)) FROM marts.fct_bmd_assessment) "
                   "ORDER BY year DESC LIMIT 1")[0]
    headline = demo_report.headline
    assert (headline.patients, headline.assessments) == (
        rows(demo.path, "SELECT count(*) FROM marts.dim_patient")[0][0],
        rows(demo.path, "SELECT count(*) FROM marts.fct_bmd_assessment")[0][0])
    assert (headline.prevalence_year, headline.prevalence_n, headline.prevalence, headline.ci_low,
            headline.ci_high) == (year, n, prevalence, low, high)
    assert f"{100 * prevalence:.1f}% (95% CI {100 * low:.1f}–{100 * high:.1f}%) in {year}" in headline.sentence()


def _age_band(age: float, bounds: list[int]) -> str:
    if age < bounds[0]:
        return f"<{bounds[0]}"
    for lower, upper in zip(bounds, bounds[1:]):
        if age < upper:
            return f"{lower}-{upper - 1}"
    return f"{bounds[-1]}+"


def test_prevalence_by_category_and_age_band_counts_as_the_marts_do(demo, page):
    import duckdb

    with duckdb.connect(str(demo.path), read_only=True) as conn:
        population = conn.sql("""
            SELECT a.patient_key, year(a.scan_date) AS year, a.scan_date, a.age_at_scan, a.who_category, f.mg_deficient
            FROM marts.fct_bmd_assessment a JOIN marts.fct_deficiency_flags f USING (assessment_id)
            WHERE f.mg_mmol_l IS NOT NULL""").df()
    population = population.sort_values("scan_date").groupby(["patient_key", "year"]).tail(1)
    population = population.dropna(subset=["who_category", "age_at_scan"])
    rules = rules_of(snapshot_path(demo.path))
    bounds = rules.value("age_band_lower_bounds")
    population["age_band"] = population["age_at_scan"].map(lambda age: _age_band(age, bounds))
    limit = rules.value("small_cell_limit")
    checked = suppressed = 0
    for attrs, cells in page.body_rows("prevalence-by-category-age"):
        category = attrs["data-category"]
        for cell_attrs, text in cells[1:]:
            band = cell_attrs["data-age-band"]
            group = population[((population["who_category"] == category) | (category == "all"))
                               & ((population["age_band"] == band) | (band == "all"))]
            if text == "suppressed":
                (reason,), = rows(snapshot_path(demo.path), "SELECT suppression FROM marts.mg_deficiency_by_category_age "
                                  "WHERE who_category = ? AND age_band = ?", [category, band])
                k = int(group["mg_deficient"].sum())
                small = any(0 < c < limit for c in (len(group), k, len(group) - k))
                assert reason == ("primary" if small else "secondary")
                suppressed += 1
                continue
            if text == "–":
                assert len(group) == 0
                continue
            n = int(re.search(r"n = ([\d,]+)", text).group(1).replace(",", ""))
            percent = float(text.split("%")[0])
            assert n == len(group) >= limit
            k = int(group["mg_deficient"].sum())
            assert not 0 < k < limit and not 0 < n - k < limit
            assert percent == round(100 * group["mg_deficient"].mean(), 1)
            checked += 1
    assert checked >= 5   # the rest are suppressed: primary (small numerators) or secondary
    assert suppressed >= 1, "the demo cohort has a small cell (severe osteoporosis under 50)"
    # all years pooled, the population is the by-year mart's (each year it shows counts the same
    # patients; its suppressed years hide theirs)
    total = page.body_rows("prevalence-by-category-age")[-1][1][-1][1]
    if total != "suppressed":   # the grand total may be a secondary suppression
        assert int(re.search(r"n = ([\d,]+)", total).group(1).replace(",", "")) == len(population)


def test_table1_counts_and_tests_recomputed_independently(page, latest, demo_report):
    table = {attrs["data-variable"]: {c[0].get("data-group"): c[1] for c in cells[2:]} | {"p": cells[-2][1]}
             for attrs, cells in page.body_rows("table-1")}
    for category, group in latest.groupby("iscd_category"):
        if table["n"][category] != "suppressed":
            assert number(table["n"][category]) == len(group)
    assert number(table["n"]["all"]) == len(latest)
    # age is near-symmetric: mean (SD) and ANOVA
    for category, group in latest.groupby("iscd_category"):
        if table["age_at_scan"][category] != "suppressed":
            assert table["age_at_scan"][category] == f"{group['age_at_scan'].mean():.1f} ({group['age_at_scan'].std():.1f})"
    samples = [g["calcium_mmol_l"].dropna() for _, g in latest.groupby("iscd_category")]
    assert table["calcium_mmol_l"]["p"] == f"{stats.f_oneway(*samples).pvalue:.3f}"
    # CRP is skewed: median [IQR] and Kruskal-Wallis
    crp = latest["crp_mg_l"].dropna()
    q1, median, q3 = np.percentile(crp, [25, 50, 75])
    assert table["crp_mg_l"]["all"] == f"{median:.2f} [{q1:.2f}–{q3:.2f}]"
    kruskal = stats.kruskal(*[g["crp_mg_l"].dropna() for _, g in latest.groupby("iscd_category")]).pvalue
    assert table["crp_mg_l"]["p"] == f"{kruskal:.3f}"
    # sex: counts with percentages, chi-square over the categories
    females = latest[latest["sex"] == "F"]
    assert table["sex=F"]["osteopenia"] == (
        f"{(females['iscd_category'] == 'osteopenia').sum():,} "
        f"({100 * (females['iscd_category'] == 'osteopenia').sum() / (latest['iscd_category'] == 'osteopenia').sum():.1f}%)")
    chi2 = stats.chi2_contingency(pd.crosstab(latest["sex"], latest["iscd_category"]).to_numpy()).pvalue
    assert demo_report.tables["table1"].row("sex").p_value == pytest.approx(chi2)


def test_roc_and_correlations_recomputed_independently(demo, page, latest):
    from sklearn.metrics import roc_auc_score

    # the patients to whom the WHO criteria apply (their category that applies is a WHO one)
    with_mg = latest.dropna(subset=["mg_mmol_l"])
    with_mg = with_mg[with_mg["iscd_category"].isin(terminology.who_categories())]
    outcome = with_mg["iscd_category"].isin(terminology.osteoporosis_categories())
    assert (with_mg["who_category"] != with_mg["iscd_category"]).sum() == 0 and len(with_mg) < len(latest)
    (_, youden), (_, published) = page.body_rows("magnesium-roc")
    assert number(youden[0][1]) == len(with_mg) and number(youden[1][1]) == outcome.sum()
    assert youden[2][1] == f"{roc_auc_score(outcome, -with_mg['mg_mmol_l']):.3f}"
    cutoff = float(rules_of(snapshot_path(demo.path)).value("mg_op_cutoff_at_or_below_mmol_l"))
    assert f"Mg ≤ {cutoff} mmol/L" in published[4][1]
    assert published[5][1] == f"{(with_mg.loc[outcome, 'mg_mmol_l'] <= cutoff).mean():.3f}"
    assert published[6][1] == f"{(with_mg.loc[~outcome, 'mg_mmol_l'] > cutoff).mean():.3f}"
    spearman = {attrs["data-variable"]: cells for attrs, cells in page.body_rows("spearman")}
    pair = latest[["mg_mmol_l", "min_t_score"]].dropna()
    assert spearman["min_t_score"][2][1] == f"{stats.spearmanr(pair['mg_mmol_l'], pair['min_t_score']).statistic:.3f}"
    assert number(spearman["min_t_score"][1][1]) == len(pair)


def test_model_cards_show_the_stored_metrics(demo, page):
    import json

    for name, metrics, card in rows(demo.path, "SELECT model_name, metrics, model_card FROM scoring.models "
                                               "WHERE is_current"):
        metrics, card = json.loads(metrics), json.loads(card)
        shown = page.body_rows(f"model-metrics@{name}")[0][1]
        assert shown[2][1] == f"{metrics['out_of_sample']['auroc']:.3f}"
        assert number(shown[0][1]) == metrics["out_of_sample"]["n_assessments"]
        ratios = {attrs["data-term"]: cells[1][1] for attrs, cells in page.tables.get(f"odds-ratios@{name}", [])[1:]}
        for term, value in (card.get("published_odds_ratios") or card.get("odds_ratios") or {}).items():
            expected = value["odds_ratio"] if isinstance(value, dict) else value
            assert ratios[term] == f"{expected:.3f}"
    published = {attrs["data-term"]: (cells[1][1], cells[2][1])
                 for attrs, cells in page.tables["odds-ratios@shi2026_abstract_ors"][1:]}
    assert published == {term: (f"{ratio:.3f}", f"{low:.3f}–{high:.3f}")
                         for term, (ratio, low, high) in SCORING.shi_odds_ratios.items()}


def test_calibration_bins_are_the_scored_assessments(demo, demo_report):
    bins = demo_report.tables["calibration"]["shi2026_abstract_ors"]
    (n, observed), = rows(demo.path, """SELECT count(*), avg(a.is_densitometric_osteoporosis::INT)
        FROM scoring.current_risk_scores s JOIN marts.fct_bmd_assessment a USING (assessment_id)
        WHERE s.model_name = 'shi2026_abstract_ors' AND s.risk_probability IS NOT NULL AND a.who_criteria_apply
          AND a.is_densitometric_osteoporosis IS NOT NULL""")
    assert bins["n"].sum() == n and len(bins) == 10
    assert (bins["n"] * bins["observed_rate"]).sum() / n == pytest.approx(observed)
    assert bins["mean_predicted"].is_monotonic_increasing
    assert "chart-calibration-shi2026_abstract_ors" in demo_report.charts


def test_each_aggregate_mart_is_written_as_csv(demo, demo_report):
    from etl.disclosure import AGGREGATE_MARTS

    snapshot = snapshot_path(demo.path)
    marts = [t for t, in rows(snapshot, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'marts'")
             if t in AGGREGATE_MARTS]
    assert sorted(set(demo_report.csvs) & set(marts)) == sorted(marts) == sorted(AGGREGATE_MARTS)
    for mart in marts:
        with demo_report.csvs[mart].open(encoding="utf-8") as handle:
            assert sum(1 for _ in csv.reader(handle)) - 1 == rows(snapshot, f"SELECT count(*) FROM marts.{mart}")[0][0]
    with demo_report.csvs["mg_deficiency_prevalence_by_year"].open(encoding="utf-8") as handle:
        years = [(int(r["year"]), r["n_assessed"]) for r in csv.DictReader(handle)]
    assert years == [(y, "" if n is None else str(n)) for y, n in rows(
        snapshot, "SELECT year, n_assessed FROM marts.mg_deficiency_prevalence_by_year ORDER BY year")]


def test_the_page_refers_to_nothing_outside_itself(demo_report, page):
    from plotly.offline import get_plotlyjs

    html = demo_report.html.read_text(encoding="utf-8")
    library = get_plotlyjs()
    assert page.scripts.count(library) == 1  # plotly.js embedded once, byte for byte
    rest = html.replace(library, "")
    assert re.findall(r"(?i)(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", rest) == []
    assert not re.search(r"(?i)\b(?:src|href)\s*=\s*[\"']?(?!#|data-dictionary\.html)", rest.replace(
        'href="data-dictionary.html"', "")), "only the relative data-dictionary link may point anywhere"
    assert 'href="data-dictionary.html"' in rest
    assert rest.count(f'class="{CHART_CLASS}"') == len(demo_report.charts) == 12  # 7 of the report, 5 of the studies section


def test_the_data_dictionary_is_beside_the_report(demo_report):
    dictionary = demo_report.dictionary
    assert dictionary == demo_report.html.with_name("data-dictionary.html")
    text = dictionary.read_text(encoding="utf-8")
    assert "fct_deficiency_flags" in text and "mg_op_cutoff_at_or_below_mmol_l" in text
    assert '"mg_mmol_l": {"type": "DOUBLE"' in text  # the catalog: column types read from the warehouse


def test_a_tiny_registry_shows_no_small_count(tiny, tmp_path):
    limit = rules_of(snapshot_path(tiny)).value("small_cell_limit")
    result = write_report(tiny, tmp_path)
    page = Page(result.html.read_text(encoding="utf-8"))
    by_year = rows(tiny, "SELECT suppressed FROM marts.mg_deficiency_prevalence_by_year ORDER BY year")
    assert sum(s for s, in by_year) >= len(by_year) - 1, "40 patients over the years: (nearly) every year is small"
    assert [("suppressed" in cells[1][1]) for _, cells in page.body_rows("prevalence-by-year")] == [s for s, in by_year]
    if all(s for s, in by_year):
        assert result.headline.prevalence is None and "no year with enough patients" in result.headline.sentence()
    table1 = {attrs["data-variable"]: cells for attrs, cells in page.body_rows("table-1")}
    categories = {c: n for c, n in rows(tiny, """SELECT iscd_category, count(DISTINCT patient_key)
        FROM marts.fct_bmd_assessment WHERE iscd_category IS NOT NULL GROUP BY ALL""")}
    assert any(0 < n < limit for n in categories.values())
    shown_counts = []
    for variable, cells in table1.items():
        for attrs, text in cells[2:-2]:
            # a level's count, with its percentage, or bare when the group's size is hidden
            if variable == "n" or " (" in text and "%" in text or "=" in variable and re.fullmatch(r"[\d,]+", text):
                if text not in ("suppressed", "–", ""):
                    shown_counts.append(integers(text.split(" (")[0])[0] if not text.startswith("<") else limit)
            if variable == "n" and 0 < categories.get(attrs["data-group"], limit) < limit:
                assert text == "suppressed"
    for _, cells in page.body_rows("prevalence-by-category-age"):
        shown_counts += [int(n.replace(",", "")) for _, text in cells for n in re.findall(r"n = ([\d,]+)", text)]
    shown_counts += [number(cells[1][1]) for _, cells in page.body_rows("spearman") if cells[1][1] != "suppressed"]
    shown_counts += [number(text) for _, text in page.body_rows("loads")[0][1][:4] if text != "0"]
    if "magnesium-roc" in page.tables:
        shown_counts += [number(text) for _, text in page.body_rows("magnesium-roc")[0][1][:2] if text != "suppressed"]
    assert len(shown_counts) >= 9   # the counts a tiny registry still shows after primary and secondary suppression
    assert all(n == 0 or n >= limit for n in shown_counts), shown_counts   # contract 6: 1 to limit - 1 never shown
    assert "No risk model has been scored" in result.html.read_text(encoding="utf-8")
    assert page.figures["quality_status"] == "not run"
    assert result.dictionary is None
