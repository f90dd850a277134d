"""The studies' section of the report and the snapshot's `analyses` tables, on the demo cohort
(the session's: real ingest, build, checks, scores, publication) and on the tiny one (most cells
small)."""
from __future__ import annotations

import re

import pandas as pd
import pytest

from etl.analyses.settings import SHI_MG_AUC, SHI_MG_OR

from ..warehouses import rows

pytestmark = pytest.mark.slow


def _section(warehouse, out_dir):
    from etl.publish import open_snapshot
    from etl.report import studies

    with open_snapshot(warehouse) as conn:
        return studies.section(conn, out_dir)


@pytest.fixture(scope="module")
def demo_section(demo, tmp_path_factory):
    return _section(demo.path, tmp_path_factory.mktemp("studies_report"))

ROW_LEVEL = {"patient_key", "assessment_id", "patient_id", "scan_date", "birth_date"}
COUNT_COLUMNS = {"n", "n_outcomes", "n_assessed", "n_deficient", "n_unknown_sex", "registry_n", "n_censored",
                 "n_left_out"}


def test_snapshot_carries_the_analyses_as_aggregates(demo):
    from etl.publish import snapshot_path

    tables = {name for name, in rows(snapshot_path(demo.path),
                                     "SELECT table_name FROM information_schema.tables WHERE table_schema = 'analyses'")}
    assert {"studies_side_by_side", "shi_odds_ratios", "shi_marker_roc", "shi_group_tables", "ali_odds_ratios",
            "ali_correlations", "mg_deficiency_standardised", "mg_deficiency_trend"} <= tables
    patients = rows(snapshot_path(demo.path), "SELECT count(*) FROM marts.dim_patient")[0][0]
    for name in tables:
        columns = {c for c, in rows(snapshot_path(demo.path), "SELECT column_name FROM information_schema.columns "
                                    "WHERE table_schema = 'analyses' AND table_name = ?", [name])}
        assert not columns & ROW_LEVEL, name
        n = rows(snapshot_path(demo.path), f'SELECT count(*) FROM analyses."{name}"')[0][0]
        assert n < patients / 5, name                # curves on grids and tables, never a row per patient
    paper = rows(snapshot_path(demo.path), "SELECT paper_odds_ratio, paper_ci_low, paper_ci_high FROM "
                 "analyses.shi_odds_ratios WHERE term = 'Mg <= 0.845 mmol/L'")[0]
    assert paper == (SHI_MG_OR.estimate, SHI_MG_OR.ci_low, SHI_MG_OR.ci_high)


def test_report_section_with_pictures_and_csvs(demo_section):
    section = str(demo_section.html)
    for anchor in ("studies-side-by-side-table", "studies-shi-odds-ratios", "studies-shi-roc", "studies-groups-osteoporosis",
                   "studies-groups-fracture", "studies-model-comparison", "studies-ali-correlations",
                   "studies-ali-odds-ratios", "studies-standardised-table"):
        assert f'id="{anchor}"' in section, anchor
    for chart in ("chart-studies-nomogram", "chart-studies-calibration", "chart-studies-decision",
                  "chart-studies-standardised", "chart-studies-roc"):    # the trend shows crude rates at least
        assert chart in demo_section.charts and f'id="{chart}"' in section, chart
    assert f"{SHI_MG_AUC.estimate:.3f} ({SHI_MG_AUC.ci_low:.3f}–{SHI_MG_AUC.ci_high:.3f})" in section
    side = pd.read_csv(demo_section.csvs["analyses/studies_side_by_side"])
    assert side.loc[0, "figure"] == SHI_MG_OR.figure and side.loc[0, "paper"] == "1.940 (1.312–2.868)"
    standardised = pd.read_csv(demo_section.csvs["analyses/mg_deficiency_standardised"])
    shown = standardised[~standardised["suppressed"] & ~standardised["standardised_withheld"]]
    assert standardised.loc[standardised["standardised_withheld"], "standardised"].isna().all()
    assert (shown["standardised_ci_low"] <= shown["standardised"]).all()
    assert (shown["standardised"] <= shown["standardised_ci_high"]).all()
    assert standardised["standard"].eq("esp2013").all()


def test_no_published_count_is_small(demo_section, tiny, tmp_path):
    tiny_section = _section(tiny, tmp_path / "tiny")
    for report in (demo_section, tiny_section):
        for key, path in report.csvs.items():
            if not key.startswith("analyses/"):
                continue
            frame = pd.read_csv(path)
            for column in COUNT_COLUMNS & set(frame.columns):
                values = pd.to_numeric(frame[column], errors="coerce").dropna()
                assert not ((values > 0) & (values < 11)).any(), (key, column)
    html = str(tiny_section.html)
    assert html.startswith('<h2 id="studies">')
    assert "&lt;11" not in html and "<11" not in html      # a small count is not even bounded on the page
    assert re.search(r"fewer than 11 patients|60 patients with and without osteoporosis|suppressed", html)


def test_the_page_includes_the_section_and_its_csvs(tiny, tmp_path):
    from etl.report import write_report

    report = write_report(tiny, tmp_path / "page")
    html = report.html.read_text(encoding="utf-8")
    assert html.index('<h2 id="studies">') < html.index('<h2 id="models">')
    assert (tmp_path / "page" / "analyses" / "studies_side_by_side.csv").exists()
    assert "analyses/mg_deficiency_standardised" in report.csvs
