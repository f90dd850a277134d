"""`osteoreg report` on data the project did not generate (issue 12 point 10): hand-written
exports where every nullable mart column is empty somewhere, a registry of one patient, and
one without any lab result. Each is ingested, built and published for real; the report is
written by the command line and says what is missing, never a traceback."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from etl.build import build, dbt_work_dir
from etl.ingest.loader import ingest_paths
from etl.publish import publish

pytestmark = pytest.mark.slow

PATIENTS = """patient_id,sex,birth_date,menopausal_status
P1,F,1950-02-03,post
P2,M,1990-06-01,
P3,F,1985-01-01,pre
P4,x,1970-01-01,
P6,F,1944-04-04,
"""
# P5 has scans but no patient row (no age), P9 labs only; P2's scan has Z-scores and BMD but no
# T-score (no WHO category), P4's only the radius; P6 has a WHO category and no lab result.
DXA = """patient_id,scan_date,site,side,t_score,z_score,bmd_g_cm2,height_cm,weight_kg
P1,2024-03-01,lumbar_spine_l1_l4,,-2.7,-1.9,0.71,160,58
P1,2024-03-01,femoral_neck,left,-2.2,-1.1,0.62,,
P1,2024-03-01,total_hip,right,-1.9,-0.8,0.70,,
P1,2022-02-01,total_hip,right,-1.5,,,,
P2,2024-05-02,lumbar_spine_l1_l4,,,-2.3,0.85,,
P3,2023-07-07,total_hip,left,-0.4,0.2,,,
P4,2024-01-15,radius_33,left,-2.8,-1.0,0.55,,
P5,2024-06-30,lumbar_spine_l1_l4,,-1.2,,,,
P6,2024-08-08,femoral_neck,right,-3.1,-1.6,0.52,,
"""
LABS = """patient_id,collected_at,code,value,unit,accession_id
P1,2024-03-02T08:00:00,2601-3,0.70,mmol/L,L1
P1,2024-03-02T08:00:00,62292-8,18,ng/mL,L2
P1,2024-03-02T08:00:00,17861-6,8.4,mg/dL,L3
P1,2024-03-02T08:00:00,1751-7,3.2,g/dL,L4
P1,2024-03-02T08:00:00,2777-1,3.1,mg/dL,L5
P1,2024-03-02T08:00:00,2731-8,72,pg/mL,L6
P1,2024-03-02T08:00:00,1988-5,2.5,mg/L,L7
P1,2024-03-02T08:00:00,41171-0,0.45,ng/mL,L8
P1,2024-03-02T08:00:00,77370-5,51,ng/mL,L9
P3,2023-07-01T09:00:00,19123-9,2.1,mg/dL,L10
P3,2023-07-01T09:00:00,29265-6,2.31,mmol/L,L11
P9,2024-02-02T09:00:00,2601-3,0.81,mmol/L,L12
P2,2024-05-01T10:00:00,2601-3,0.77,mmol/L,L13
P5,2024-06-29T10:00:00,2601-3,0.91,mmol/L,L14
"""
FRACTURES = """patient_id,fracture_date,site,fragility
P1,2021-04-04,wrist,true
P3,2020-01-01,ankle,false
"""
ONE_PATIENT = {
    "patients.csv": "patient_id,sex,birth_date\nQ1,F,1948-09-09\n",
    "dxa.csv": "patient_id,scan_date,site,t_score\nQ1,2025-01-10,femoral_neck,-2.6\n",
    "labs.csv": "patient_id,collected_at,code,value,unit\nQ1,2025-01-09,2601-3,0.72,mmol/L\n",
}
NO_LABS = {
    "patients.csv": PATIENTS,
    "dxa.csv": DXA,
    "fractures.csv": FRACTURES,
}
# 24 women of 64 with osteopenia and a magnesium in 2024, half deficient, so that some cells are shown (a
# shown cell has an empty `suppression`), and P7 with a vitamin D only (a lab panel without
# magnesium).
GROUP = [f"W{i}" for i in range(24)]
NULLS_EVERYWHERE = {
    "patients.csv": PATIENTS + "".join(f"{w},F,1960-01-01,post\n" for w in GROUP),
    "dxa.csv": DXA + "".join(f"{w},2024-09-02,femoral_neck,right,-1.6,-0.9,0.74,,\n" for w in GROUP),
    "labs.csv": LABS + "P7,2024-01-05T09:00:00,62292-8,31,ng/mL,L15\n"
    + "".join(f"{w},2024-09-01T09:00:00,2601-3,{0.70 if i % 2 == 0 else 0.86},mmol/L,G{i}\n"
              for i, w in enumerate(GROUP)),
    "fractures.csv": FRACTURES,
}

# Mart columns that are never empty by construction (keys, lineage, a flag that is false rather
# than unknown), beyond those the dbt project tests `not_null`.
# The rules table describes the build, not patients: every row is filled.
METADATA = {"rules_in_effect"}
NEVER_EMPTY = {
    # a current final result always has its status, value and unit (ingest quarantines it otherwise)
    ("fct_lab_result", "status"),
    ("fct_lab_result", "value_original"),
    ("fct_lab_result", "unit_original"),
    ("fct_bmd_assessment", "has_fragility_fracture"),
    ("fct_bmd_assessment", "has_implausible_value"),
    ("mg_deficiency_prevalence", "suppressed"),
    ("mg_deficiency_prevalence_by_year", "suppressed"),
}


def _registry(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / "input").mkdir(parents=True, exist_ok=True)
        (root / "input" / name).write_text(text, encoding="utf-8")
    path = root / "osteoreg.duckdb"
    report = ingest_paths(path, [root / "input"])
    assert not report.failed, [f.message for f in report.failed]
    build(path, exclude="resource_type:unit_test")
    publish(path, dictionary=False)
    return path


def _report(path: Path, out: Path) -> tuple[str, str]:
    env = {**os.environ, "OSTEOREG_SECRET": "odd-data-secret-of-at-least-32-characters"}
    result = subprocess.run([sys.executable, "-m", "etl.cli", "--warehouse", str(path), "report", "--out", str(out)],
                            capture_output=True, text=True, env=env, timeout=300)
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    assert result.returncode == 0, result.stderr
    printed = " ".join(result.stdout.split())
    return printed, (out / "osteoreg-report.html").read_text(encoding="utf-8")


def _not_null_tested(path: Path) -> set[tuple[str, str]]:
    manifest = json.loads((dbt_work_dir(path) / "target" / "manifest.json").read_text())
    tested = set()
    for node in manifest["nodes"].values():
        if node["resource_type"] == "test" and node.get("test_metadata", {}).get("name") == "not_null":
            model = node["attached_node"].split(".")[-1]
            tested.add((model, node["column_name"]))
    return tested


@pytest.fixture(scope="module")
def registries(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OSTEOREG_SECRET", "odd-data-secret-of-at-least-32-characters")
        return {name: _registry(tmp_path_factory.mktemp(name), files) for name, files in
                (("nulls", NULLS_EVERYWHERE), ("one_patient", ONE_PATIENT), ("no_labs", NO_LABS))}


def test_every_nullable_mart_column_is_empty_somewhere_and_the_report_is_written(registries, tmp_path):
    path = registries["nulls"]
    required = _not_null_tested(path) | NEVER_EMPTY
    with duckdb.connect(str(path), read_only=True) as conn:
        columns = conn.execute("""SELECT table_name, column_name FROM information_schema.columns
                                  WHERE table_schema = 'marts' ORDER BY ALL""").fetchall()
        never_null = [(table, column) for table, column in columns
                      if (table, column) not in required and table not in METADATA
                      and conn.execute(f'SELECT count(*) FROM marts."{table}" WHERE "{column}" IS NULL').fetchone()[0] == 0]
    assert never_null == [], never_null  # the data does what it says: NULLs in every nullable column

    printed, html = _report(path, tmp_path / "report")

    # 2024 is the only year shown and the data stop in it (issue 12 point 9): the headline says so
    assert "magnesium deficiency 48.1% (95% CI 30.7–66.0%) in 2024 (a partial year: scans to 2024-09-02) (n = 27)" \
        in printed
    assert '<tr data-year="2024" data-partial="true"><td>2024 (partial: scans to 2024-09-02)</td>' in html
    # the pooled grid is by WHO category (its sums link to the prevalence marts); its <50 column
    # says that WHO criteria do not apply there, and on 27 patients every cell is hidden or empty
    grid = html[html.index('<table id="prevalence-by-category-age">'):]
    grid = grid[:grid.index("</table>")]
    assert "WHO criteria do not apply" in grid
    assert "patient-years" not in grid and grid.count(">suppressed<") >= 4
    assert 'data-variable="mg_deficient=True"' in html
    assert "suppressed assessments have no WHO category" in html
    assert "suppressed patients have no birth date" in html
    assert "No laboratory result" not in html
    # P3 (38, premenopausal): in Table 1 the category that applies is ISCD's, never "normal under 50"
    table1 = html[html.index('<table id="table-1">'):]
    table1 = table1[:table1.index("</table>")]
    assert '<td data-group="within_expected_range_for_age"' in table1
    assert 'data-group="normal"' not in table1


def test_a_registry_of_one_patient_writes_a_report_that_shows_no_small_count(registries, tmp_path):
    printed, html = _report(registries["one_patient"], tmp_path / "report")

    assert "suppressed patients, suppressed assessments" in printed and "HiGHS" not in printed
    assert 'data-figure="patients">suppressed<' in html
    assert "Too few patients with a magnesium result to show." in html


def test_a_registry_without_labs_says_there_are_none(registries, tmp_path):
    printed, html = _report(registries["no_labs"], tmp_path / "report")

    assert 'data-figure="lab_results">0<' in html
    assert "No laboratory result is in this registry" in html
    assert "magnesium deficiency: no year with enough patients to show" in printed


def test_the_headline_quotes_the_latest_complete_year_or_says_it_is_partial():
    import datetime

    import pandas as pd

    from etl.report.dataset import headline_year

    by_year = pd.DataFrame({"year": [2022, 2023, 2024, 2025], "suppressed": [False, True, False, False]})
    assert headline_year(by_year, datetime.date(2025, 3, 10)) == (2024, False)
    assert headline_year(by_year, datetime.date(2026, 1, 2)) == (2025, False)
    assert headline_year(by_year[by_year["year"] >= 2025], datetime.date(2025, 3, 10)) == (2025, True)
    assert headline_year(by_year[by_year["year"] == 2023], datetime.date(2025, 3, 10)) == (None, False)
