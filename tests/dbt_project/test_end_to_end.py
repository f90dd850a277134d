"""End to end: files -> ingest -> build, with mart figures computed independently of the SQL.

The synthetic cohort's manifest states what correct marts show (counted by the generator from
its own truth); prevalence is recomputed here in pandas with statsmodels' Wilson interval.
"""
from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

from etl.build import build
from etl.ingest.loader import ingest_paths
from etl.synth.flat import write_flat

pytestmark = pytest.mark.slow

EXTERNAL = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "external"


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    files = tmp_path_factory.mktemp("cohort")
    write_flat(files, n_patients=200, messy=True)
    warehouse = tmp_path_factory.mktemp("warehouse") / "osteoreg.duckdb"
    ingest_paths(warehouse, [files])
    build(warehouse, exclude="resource_type:unit_test")
    expected = json.loads((files / "manifest.json").read_text())["expected"]
    return warehouse, expected


def _frame(warehouse: Path, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        return conn.sql(sql).df()


def _counts(warehouse: Path, sql: str) -> dict:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        return dict(conn.execute(sql).fetchall())


def test_current_final_results_per_analyte_and_unit(cohort):
    warehouse, expected = cohort
    assert _counts(warehouse, "SELECT analyte, count(*) FROM marts.fct_lab_result GROUP BY 1") == expected["current_final_results"]
    by_unit = _counts(warehouse, """
        SELECT l.analyte || '|' || a.unit, count(*) FROM marts.fct_lab_result l
        JOIN terminology.unit_aliases a ON a.unit_alias = lower(replace(trim(l.unit_original), ' ', ''))
        GROUP BY 1""")
    assert by_unit == expected["current_final_results_by_unit"]


def test_assessments_categories_and_flags(cohort):
    warehouse, expected = cohort
    assert _counts(warehouse, "SELECT who_category, count(*) FROM marts.fct_bmd_assessment GROUP BY 1") == expected["who_category"]
    assert _counts(warehouse, "SELECT iscd_category, count(*) FROM marts.fct_bmd_assessment GROUP BY 1") == expected["iscd_category"]
    flags = _frame(warehouse, "SELECT * FROM marts.fct_deficiency_flags")
    assert len(flags) == expected["assessments"]
    assert int(flags["mg_deficient"].fillna(False).astype(bool).sum()) == expected["assessments_mg_deficient"]
    assert int(flags["mg_below_op_cutoff"].fillna(False).astype(bool).sum()) == expected["assessments_mg_at_or_below_cutoff"]
    fractured = _counts(warehouse, "SELECT 'n', count(DISTINCT patient_key) FROM marts.fct_bmd_assessment WHERE has_fragility_fracture")
    assert fractured["n"] == expected["patients_with_fragility_fracture_before_a_scan"]


def _expected_prevalence(warehouse: Path, by: list[str], small_cell_limit: int = 11) -> pd.DataFrame:
    """Contract 6 recomputed in pandas: patients once per year via their latest assessment with
    a matched magnesium; Wilson 95%; cells with a count of 1 to limit - 1 suppressed."""
    joined = _frame(warehouse, """
        SELECT b.patient_key, b.scan_date, b.sex, b.age_at_scan, b.who_category, f.mg_deficient
        FROM marts.fct_bmd_assessment b JOIN marts.fct_deficiency_flags f USING (assessment_id)
        WHERE f.mg_mmol_l IS NOT NULL""")
    joined["year"] = pd.to_datetime(joined["scan_date"]).dt.year
    joined["age_band"] = pd.cut(joined["age_at_scan"], [-1, 49, 59, 69, 79, 200],
                                labels=["<50", "50-59", "60-69", "70-79", "80+"]).astype(str)
    latest = joined.sort_values("scan_date").groupby(["patient_key", "year"]).tail(1)
    cells = latest.groupby(by, dropna=False).agg(n=("mg_deficient", "size"), k=("mg_deficient", "sum")).reset_index()
    low, high = proportion_confint(cells["k"], cells["n"], alpha=0.05, method="wilson")
    cells["ci_low"], cells["ci_high"] = low, high
    def small(count):
        return (count > 0) & (count < small_cell_limit)

    # primary suppression: the patients, the deficient or the not-deficient patients are small
    cells["suppressed"] = small(cells["n"]) | small(cells["k"]) | small(cells["n"] - cells["k"])
    return cells


def test_prevalence_by_year_matches_an_independent_computation(cohort):
    warehouse, _ = cohort
    # 200 patients: with the contract's limit every year has a small numerator or complement, so
    # the rule is checked at a registry's smaller limit (a var) where some years show
    build(warehouse, vars={"small_cell_limit": 3}, select="mg_deficiency_prevalence_by_year", exclude="resource_type:unit_test")
    expected = _expected_prevalence(warehouse, ["year"], small_cell_limit=3).set_index("year")
    actual = _frame(warehouse, "SELECT * FROM marts.mg_deficiency_prevalence_by_year").set_index("year")
    assert sorted(actual.index) == sorted(expected.index)
    assert not expected["suppressed"].all()
    for year, row in expected.iterrows():
        got = actual.loc[year]
        assert bool(got["suppressed"]) == bool(row["suppressed"])
        if row["suppressed"]:
            assert pd.isna(got["n_assessed"]) and pd.isna(got["prevalence"]) and pd.isna(got["ci_low"])
        else:
            assert (got["n_assessed"], got["n_deficient"]) == (row["n"], row["k"])
            assert got["prevalence"] == pytest.approx(row["k"] / row["n"], abs=1e-12)
            assert got["ci_low"] == pytest.approx(row["ci_low"], abs=1e-9)
            assert got["ci_high"] == pytest.approx(row["ci_high"], abs=1e-9)


def test_prevalence_cells_match_an_independent_computation(cohort):
    """200 patients leave every cell under 11; a registry's smaller limit (a var) shows some."""
    warehouse, _ = cohort
    build(warehouse, vars={"small_cell_limit": 3}, select="mg_deficiency_prevalence", exclude="resource_type:unit_test")
    keys = ["year", "sex", "age_band", "who_category"]
    expected = _expected_prevalence(warehouse, keys, small_cell_limit=3)
    actual = _frame(warehouse, "SELECT * FROM marts.mg_deficiency_prevalence")
    assert len(actual) == len(expected)
    assert int(actual["suppressed"].sum()) == int(expected["suppressed"].sum())
    shown = actual[~actual["suppressed"]].merge(expected, on=keys, suffixes=("", "_expected"))
    assert len(shown) == int((~expected["suppressed"]).sum()) > 0
    assert (shown["n_assessed"] == shown["n"]).all() and (shown["n_deficient"] == shown["k"]).all()
    assert shown["ci_low"].to_numpy() == pytest.approx(shown["ci_low_expected"].to_numpy(), abs=1e-9)
    assert shown["ci_high"].to_numpy() == pytest.approx(shown["ci_high_expected"].to_numpy(), abs=1e-9)
    hidden = actual[actual["suppressed"]]
    assert hidden[["n_assessed", "n_deficient", "prevalence", "ci_low", "ci_high"]].isna().all().all()


@pytest.mark.skipif(not EXTERNAL.exists(), reason="shared external fixtures are not beside the checkout")
def test_real_us_core_dxa_and_synthea_labs(tmp_path):
    """US Core's DXA Observations (one resource per measure and side) become one assessment;
    Synthea's calcium in mg/dL and albumin in g/dL arrive in SI."""
    warehouse = tmp_path / "osteoreg.duckdb"
    ingest_paths(warehouse, [EXTERNAL / "us-core", EXTERNAL / "dbt-synthea"])
    build(warehouse, exclude="resource_type:unit_test")

    assessment = _frame(warehouse, "SELECT * FROM marts.fct_bmd_assessment")
    assert len(assessment) == 1
    row = assessment.iloc[0]
    assert str(row["scan_date"])[:10] == "2021-11-10"   # the local date, offset -08:00 not applied
    assert (row["t_score_femoral_neck"], row["t_score_total_hip"]) == (-1.48, -1.62)
    assert (row["min_t_score"], row["min_t_score_site"], row["who_category"]) == (-1.62, "total_hip", "osteopenia")
    assert (row["bmd_femoral_neck"], row["bmd_total_hip"], row["min_z_score"]) == (0.631, 0.734, -0.19)
    assert row["age_at_scan"] == 34   # born 1987-02-20
    labs = _frame(warehouse, """
        SELECT analyte, count(*) AS n, min(value_si) AS low, max(value_si) AS high
        FROM marts.fct_lab_result GROUP BY 1""").set_index("analyte")
    # 10 Synthea calcium rows (8.6-10.1 mg/dL) plus US Core's 7.7 mg/dL, x 0.24951
    assert labs.loc["calcium", "n"] == 11
    assert labs.loc["calcium", "low"] == pytest.approx(7.7 * 0.24951)
    assert labs.loc["calcium", "high"] == pytest.approx(10.1 * 0.24951)
    # Synthea albumin 4.1 / 4.7 / 5.3 g/dL -> g/L
    assert (labs.loc["albumin", "n"], labs.loc["albumin", "low"], labs.loc["albumin", "high"]) == (3, 41.0, 53.0)


def test_every_model_column_is_documented(cohort):
    """Each folder's `_<folder>__models.yml` documents exactly the columns the model has."""
    warehouse, _ = cohort
    from etl.build import dbt_work_dir

    manifest = json.loads((dbt_work_dir(warehouse) / "target" / "manifest.json").read_text())
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        built = conn.execute("""
            SELECT table_schema, table_name, list(column_name ORDER BY ordinal_position)
            FROM information_schema.columns
            WHERE table_schema IN ('staging', 'intermediate', 'marts')
               OR (table_schema = 'identity' AND table_name = 'int_build_identity')  -- PHI, so in identity
            GROUP BY ALL""").fetchall()
    documented = {(node["schema"], node["name"]): node for node in manifest["nodes"].values()
                  if node["resource_type"] == "model"}
    assert {(schema, name) for schema, name, _ in built} == set(documented)
    for schema, name, columns in built:
        node = documented[(schema, name)]
        assert set(node["columns"]) == set(columns), name
        assert node["description"] and all(c["description"] for c in node["columns"].values()), name
        folder = node["original_file_path"].split("/")[1]
        assert node["patch_path"].endswith(f"_{folder}__models.yml"), name
