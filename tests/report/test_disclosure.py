"""Disclosure control of everything the report folder and the snapshot publish (contract 6):
the attacker of `etl.disclosure.audit` reads only the published files and recovers no hidden
count on the demo and on a tiny registry, and does recover counts once secondary suppression is
off; no count from 1 to limit - 1 appears in any CSV or HTML table; no row-level data leaves."""
from __future__ import annotations

import csv
import json
import re

import duckdb
import pytest

from etl.disclosure import AGGREGATE_MARTS, RULE_MARTS, ROW_LEVEL_MARTS
from etl.disclosure.policy import policy_from
from etl.rules import dbt_var
from etl.disclosure.audit import attack_report
from etl.publish import publish, snapshot_path
from etl.report import write_report

from .page import Page

pytestmark = pytest.mark.slow

POLICY = policy_from(dbt_var)   # the demo is built with the project's defaults (a test may state them)
# Columns of the report's CSVs that hold counts of patients (or patient-years): these, and any
# other named n or n_* or *_n (the paper's own n excepted: it is the paper's figure, not ours).
COUNT_COLUMNS = {"n_assessed", "n_deficient", "n", "count", "patients", "analysed"}
PUBLISHED_ELSEWHERE = {"paper_n"}
# Headings of the page's table columns that hold counts of patients (or assessments).
COUNT_HEADINGS = {"patients", "with osteoporosis", "deficient", "assessments", "registry n"}


def _is_count_column(name: str) -> bool:
    return name not in PUBLISHED_ELSEWHERE and (
        name in COUNT_COLUMNS or name.startswith("n_") or name.endswith("_n"))


@pytest.fixture(scope="module")
def tiny_report(tiny, tmp_path_factory):
    return write_report(tiny, tmp_path_factory.mktemp("tiny_report"))


def _attack(report, warehouse):
    with duckdb.connect(str(snapshot_path(warehouse)), read_only=True) as conn:
        return attack_report(report.html.parent, POLICY, conn)


def test_the_attacker_recovers_nothing_from_the_demo_report(demo, demo_report):
    attack = _attack(demo_report, demo.path)
    assert attack.passed, attack.recovered[:5]
    tables = {f.table for f in attack.findings}
    assert {"detail", "grid", "table1", "heatmap"} <= tables   # it did attack every kind of table
    assert len(attack.findings) >= 300


def test_the_attacker_recovers_nothing_from_a_tiny_registry(tiny, tiny_report):
    """40 patients over the years: nearly every cell is small, so most is hidden and linked."""
    attack = _attack(tiny_report, tiny)
    assert attack.passed, attack.recovered[:5]
    assert len([f for f in attack.findings if f.table == "detail"]) >= 30


def test_the_attacker_recovers_cells_when_secondary_suppression_is_off(demo, tmp_path):
    """Primary suppression alone is what the review broke: subtraction recovers hidden cells."""
    warehouse = demo.copy_to(tmp_path / "warehouse")
    publish(warehouse, dictionary=False, secondary=False)
    report = write_report(warehouse, tmp_path / "report", secondary=False)
    attack = _attack(report, warehouse)
    recovered = attack.recovered
    assert recovered, "without secondary suppression the attacker must pin some hidden count"
    pinned = [f for f in recovered if f.low == f.high]
    assert pinned and {f.table for f in recovered} & {"detail", "grid", "by_year", "table1"}
    # and each pinned count is the true one: a subtraction, not a guess
    finding = next(f for f in pinned if f.table == "table1" and f.key[0] == "n") if any(
        f.table == "table1" and f.key[0] == "n" for f in pinned) else None
    if finding is not None:
        truth = report.tables["table1"]
        assert finding.low > 0 and truth is not None


def _count_cells(folder) -> list[tuple[str, str, int]]:
    found = []
    for path in sorted(folder.rglob("*.csv")):
        with path.open(encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                for column in filter(_is_count_column, row):
                    if row[column] not in ("", None):
                        found.append((path.name, column, int(float(row[column]))))
    return found


def _html_counts(page: Page) -> list[int]:
    counts = []
    for table, rows in page.tables.items():
        for attrs, cells in rows:
            for cell_attrs, text in cells:
                counts += [int(n.replace(",", "")) for n in re.findall(r"n = ([\d,]+)", text)]
                head = text.split(" (")[0]
                if table in ("table-1",) and re.fullmatch(r"[\d,]+", head) and not attrs.get(
                        "data-variable", "").endswith(("_l", "_ml", "scan", "bmi")):
                    counts.append(int(head.replace(",", "")))
    for table, rows in page.tables.items():   # every column headed as a count, in every table
        if not rows:
            continue
        headings = [text for _, text in rows[0][1]]
        for _, cells in rows[1:]:
            for heading, (_, text) in zip(headings, cells):
                if heading in COUNT_HEADINGS and re.fullmatch(r"[\d,]+", text):
                    counts.append(int(text.replace(",", "")))
    return counts


@pytest.mark.parametrize("which", ["demo", "tiny"])
def test_no_count_from_one_to_the_limit_anywhere_in_the_report_folder(which, demo_report, tiny_report):
    report = demo_report if which == "demo" else tiny_report
    folder = report.html.parent
    counts = _count_cells(folder)
    assert len(counts) >= 10
    small = [c for c in counts if 0 < c[2] < POLICY.limit]
    assert small == []
    page = Page(report.html.read_text(encoding="utf-8"))
    shown = _html_counts(page)
    assert shown and [n for n in shown if 0 < n < POLICY.limit] == []
    from plotly.offline import get_plotlyjs

    page_text = report.html.read_text(encoding="utf-8").replace(get_plotlyjs(), "")
    assert f"&lt;{POLICY.limit}" not in page_text and f"<{POLICY.limit}" not in page_text


def test_the_report_folder_holds_no_row_level_mart(demo_report):
    folder = demo_report.html.parent
    names = {path.stem for path in (folder / "marts").glob("*.csv")}
    assert names <= set(AGGREGATE_MARTS) | set(RULE_MARTS)
    assert not names & ROW_LEVEL_MARTS
    assert {"mg_deficiency_prevalence", "mg_deficiency_by_category_age"} <= names
    for path in folder.rglob("*.csv"):
        header = path.read_text(encoding="utf-8").splitlines()[0].split(",")
        assert "patient_key" not in header and "assessment_id" not in header


def _plotly_traces(html: str, chart_id: str) -> list[dict]:
    match = re.search(r'Plotly\.newPlot\(\s*"' + re.escape(chart_id) + r'",\s*(\[.*?\]),\s*\{', html, flags=re.S)
    assert match, chart_id
    return json.loads(match.group(1))


def test_the_magnesium_picture_is_binned_counts_with_small_bins_blank(demo_report):
    html = demo_report.html.read_text(encoding="utf-8")
    assert "chart-magnesium-scatter" not in html
    (trace,) = _plotly_traces(html, "chart-magnesium-heatmap")
    assert trace["type"] == "heatmap"
    values = [v for row in trace["z"] for v in row if v is not None]
    assert values and min(values) >= POLICY.limit
    bins = demo_report.tables["heatmap"]
    assert sum(values) == int(bins["patients"].dropna().sum())
    assert bins["patients"].isna().sum() >= 1   # the demo has small bins, left blank


def test_the_page_counts_its_primary_and_secondary_suppressions(demo_report):
    text = " ".join(demo_report.html.read_text(encoding="utf-8").split())
    tally = demo_report.suppressions
    assert (f"prevalence tables {tally['prevalence']['primary']} primary and {tally['prevalence']['secondary']} "
            "secondary") in text
    assert tally["prevalence"]["primary"] > 0 and tally["prevalence"]["secondary"] > 0
    assert f"Table 1 {tally['table1']['primary']} primary and {tally['table1']['secondary']} secondary" in text
    assert f"<code>small_cell_limit</code> = {POLICY.limit}" in text
    assert demo_report.suppression_seconds > 0   # measured (figures in the note; not a gate on a shared machine)


def test_a_registrys_own_limit_is_the_one_the_report_applies_and_states(tiny, tmp_path):
    """Built with small_cell_limit 20, the page states 20 and no count 1..19 appears (issue 11)."""
    import shutil

    from etl.build import build

    warehouse = tmp_path / "osteoreg.duckdb"
    shutil.copy(tiny, warehouse)
    build(warehouse, vars={"small_cell_limit": 20}, exclude="resource_type:unit_test")
    publish(warehouse, dictionary=False)
    report = write_report(warehouse, tmp_path / "report")
    text = " ".join(report.html.read_text(encoding="utf-8").split())
    assert "<code>small_cell_limit</code> = 20" in text and "<code>disclosure_protection_width</code> = 20" in text
    assert [c for c in _count_cells(report.html.parent) if 0 < c[2] < 20] == []
    with duckdb.connect(str(snapshot_path(warehouse)), read_only=True) as conn:
        from etl.disclosure import load_policy as policy_of

        policy = policy_of(conn)
        assert (policy.limit, policy.protection_width) == (20, 20)
        attack = attack_report(report.html.parent, policy, conn)
    assert attack.passed, attack.recovered[:5]
