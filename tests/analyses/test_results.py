"""The published prevalence table: what is withheld and why (hand-made strata)."""
import contextvars

import pandas as pd
import pytest

from etl.analyses import disclosure, results
from etl.errors import UsageError
from etl.analyses.settings import DEFAULT


def _counts(small_year: int):
    rows = []
    for year in (2021, 2022, 2023):
        for sex in ("F", "M"):
            for band in ("<50", "50-59", "60-69", "70-79", "80+"):
                n, k = 60, 20
                if year == small_year and sex == "M" and band == "80+":
                    n, k = 15, 3                     # 3 deficient: a small numerator in one stratum
                rows.append({"year": year, "sex": sex, "age_band": band, "n_assessed": n, "n_deficient": k})
    return pd.DataFrame(rows)


def test_standardised_rate_withheld_for_a_year_with_a_small_stratum_and_hidden_years_stay_hidden():
    prev = results.prevalence(_counts(2022), "2024-01-15", DEFAULT, 0.05, [50, 60, 70, 80])
    prev.years_suppressed_in_marts = {2023}
    table = results._yearly_published(prev).set_index("year")
    assert table.loc[2021, "standardised"] == table.loc[2021, "standardised"]       # shown
    assert not table.loc[2021, "suppressed"] and not table.loc[2021, "standardised_withheld"]
    assert table.loc[2022, "standardised_withheld"] and pd.isna(table.loc[2022, "standardised"])
    assert table.loc[2022, "n_assessed"] == 9 * 60 + 15 and table.loc[2022, "crude"] > 0   # crude still shown
    assert table.loc[2023, "suppressed"] and pd.isna(table.loc[2023, "n_assessed"])       # hidden by the marts
    assert "n_unknown_sex" not in table.columns
    assert prev.latest_complete_year == 2023
    # 20 of 60 in every stratum: the standardised rate is exactly 1/3 whatever the weights
    assert abs(table.loc[2021, "standardised"] - 1 / 3) < 1e-12


def test_a_registry_without_labs_gives_reasons_and_tables_that_store(women):
    import duckdb

    from etl.analyses import ali, shi

    empty = women.iloc[:0]
    no_labs = women.head(30).assign(mg_mmol_l=None, phosphate_mmol_l=None, beta_ctx_ng_ml=None, p1np_ng_ml=None)
    counts = pd.DataFrame(columns=["year", "sex", "age_band", "n_assessed", "n_deficient"])
    for frame in (empty, no_labs):
        adults = frame.assign(mg_deficient=None, vitd_status=None, pth_elevated=None, hypocalcemia=None)
        analyses = results.Analyses(shi.analyse(frame), ali.analyse(adults),
                                    results.prevalence(counts, None, DEFAULT, 0.05, [50, 60, 70, 80]), limit=11)
        tables = results.tables(analyses)
        assert tables["shi_odds_ratios"]["odds_ratio"].isna().all()
        assert tables["shi_model_comparison"]["reason"].str.contains("need at least").all()
        with duckdb.connect() as conn:
            for name, table in tables.items():
                conn.register("t", table)
                conn.execute(f'CREATE TABLE "{name}" AS SELECT * FROM t')
                conn.unregister("t")


def test_a_large_population_is_analysed_on_a_seeded_sample(women):
    settings = DEFAULT.__class__(max_patients=500)
    sample = results.bounded(women, settings)
    assert len(sample) == 500 and sample.index.is_unique
    assert sample.index.equals(results.bounded(women, settings).index)        # seeded: the same patients
    assert results.bounded(women.head(400), settings).equals(women.head(400))


def test_no_limit_in_effect_is_refused_in_one_sentence():
    """Outside a run there is no build's limit, and the project's default is not a stand-in."""
    messages = []

    def outside_any_run():
        with pytest.raises(UsageError) as refused:
            disclosure.is_small(5)
        messages.append(str(refused.value))

    contextvars.Context().run(outside_any_run)   # a fresh context: the autouse limit is not set in it
    assert len(messages) == 1 and ". " not in messages[0] and "marts.rules_in_effect" in messages[0]
