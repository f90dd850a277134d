"""Issue 11's done-when: a registry builds with its own rules and everything downstream follows them.

One build of the session's demo input files with `--vars '{small_cell_limit: 20,
mg_op_cutoff_at_or_below_mmol_l: 0.80, mg_deficient_below_mmol_l: 0.70}'`, then the checks, the
scores, the snapshot and the report, as `osteoreg run` does; the demo itself (the same files built
with the defaults) is what it is compared with. Each assertion reads a value that the
project's defaults (11, 0.845, 0.75) would get wrong on this cohort: the fixture first asserts the
demo has patients between the default and the overridden thresholds and cells of 11..19 patients.
"""
from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys

import duckdb
import numpy as np
import pytest

from etl.build import build
from etl.ingest.loader import ingest_paths
from etl.publish import publish, snapshot_path
from etl.quality.runner import run_checks
from etl.report import write_report
from etl.rules import load_rules
from etl.scoring.frame import training_frame
from etl.scoring.runner import model_cards, score

from ..warehouses import rows

pytestmark = pytest.mark.slow

LIMIT, CUTOFF, DEFICIENT = 20, 0.80, 0.70
OVERRIDES = {"small_cell_limit": LIMIT, "mg_op_cutoff_at_or_below_mmol_l": CUTOFF, "mg_deficient_below_mmol_l": DEFICIENT}
# the CSV columns that hold patient counts (the report's and the snapshot's aggregate marts)
COUNT_COLUMNS = {"n_assessed", "n_deficient", "n", "count", "patients"}


@pytest.fixture(scope="module")
def registry(demo, tmp_path_factory):
    """The demo's input files as a registry with its own rules from the start: ingest, build with
    the overrides, checks, scores, snapshot and report, as `osteoreg run` does."""
    folder = tmp_path_factory.mktemp("own_rules")
    path = folder / "osteoreg.duckdb"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OSTEOREG_SECRET", "report-test-secret-of-at-least-32-characters")   # the demo's, so patient keys match it
        ingest_paths(path, [demo.inputs])
        build(path, vars=OVERRIDES, exclude="resource_type:unit_test")
        checks = run_checks(path)
        scores = score(path)
        publish(path)
        report = write_report(path, folder / "report")
    return path, checks, scores, report


def test_the_overrides_change_flags_and_cells_the_defaults_showed(demo, registry):
    """The demo (built with the defaults) has patients between the thresholds and cells of 11..19
    patients, so every other assertion here could fail; the rebuilt registry treats them by 0.70,
    0.80 and 20."""
    path, *_ = registry
    flags = "SELECT assessment_id, mg_mmol_l, mg_deficient, mg_below_op_cutoff FROM marts.fct_deficiency_flags"
    before, after = {r[0]: r for r in rows(demo.path, flags)}, {r[0]: r for r in rows(path, flags)}
    assert before.keys() == after.keys()
    between = [a for a, (_, mg, *_) in before.items() if mg is not None and DEFICIENT <= mg < 0.75]
    assert between and all(before[a][2] and not after[a][2] for a in between)
    above = [a for a, (_, mg, *_) in before.items() if mg is not None and CUTOFF < mg <= 0.845]
    assert above and all(before[a][3] and not after[a][3] for a in above)
    cells = ("SELECT year, sex, age_band, who_category, n_assessed, suppressed FROM marts.mg_deficiency_prevalence")
    shown_by_default = {r[:4] for r in rows(demo.path, cells) if not r[5] and 11 <= r[4] < LIMIT}
    assert shown_by_default
    assert all(r[5] for r in rows(path, cells) if r[:4] in shown_by_default)


def test_rules_in_effect_and_the_marts_use_the_overrides(registry):
    path, *_ = registry
    with duckdb.connect(str(path), read_only=True) as conn:
        rules = load_rules(conn)
    assert [rules.value(name) for name in OVERRIDES] == [LIMIT, CUTOFF, DEFICIENT]
    # every flag by 0.70 / 0.80, none by 0.75 / 0.845
    assert rows(path, f"""SELECT count(*) FROM marts.fct_deficiency_flags WHERE mg_mmol_l IS NOT NULL
                           AND (mg_deficient IS DISTINCT FROM (mg_mmol_l < {DEFICIENT})
                                OR mg_below_op_cutoff IS DISTINCT FROM (mg_mmol_l <= {CUTOFF}))""") == [(0,)]
    # suppression by 20: no published count of 1..19, and some cells suppressed
    for mart in ("mg_deficiency_prevalence", "mg_deficiency_prevalence_by_year", "mg_deficiency_by_category_age"):
        counts = rows(path, f"SELECT n_assessed, n_deficient, n_assessed - n_deficient, suppressed FROM marts.{mart}")
        assert counts and any(s for *_, s in counts), mart
        assert [c for c in counts if any(n is not None and 0 < n < LIMIT for n in c[:3])] == [], mart


def test_the_quality_checks_hold_the_flags_to_the_overrides(registry):
    """The Mg flag checks pass on marts flagged by 0.70/0.80; held to the defaults they would name
    the patients between the thresholds (see the first test)."""
    _, checks, *_ = registry
    suite = [s for s in checks.suites if s.suite == "marts_fct_deficiency_flags"]
    assert len(suite) == 1 and suite[0].status == "validated" and suite[0].checks > 0
    assert suite[0].failed == 0
    assert [f for f in checks.failures if f.suite == "marts_fct_deficiency_flags"] == []


def test_the_scoring_frame_and_the_model_cards_use_the_overrides(registry):
    path, _, scores, _ = registry
    with duckdb.connect(str(path), read_only=True) as conn:
        frame = training_frame(conn, max_rows=100_000, seed=1)
    mg, flag = frame.columns["mg_mmol_l"], frame.columns["mg_below_op_cutoff"]
    known = ~np.isnan(mg)
    assert known.sum() > 0 and ((mg[known] > 0.80) & (mg[known] <= 0.845)).any()
    assert np.array_equal(flag[known], (mg[known] <= CUTOFF).astype(float))
    cards = {card["model_name"]: card for card in model_cards(path)}
    assert f"mg <= {CUTOFF} mmol/L, var mg_op_cutoff_at_or_below_mmol_l as in effect" in cards["local_lasso"]["units"]
    assert "0.845" not in cards["local_lasso"]["units"]


def test_the_report_states_and_applies_the_overrides(registry):
    path, *_, report = registry
    text = " ".join(report.html.read_text(encoding="utf-8").split())
    assert f"<code>small_cell_limit</code> = {LIMIT}" in text
    assert f"Deficiency is serum magnesium below {DEFICIENT:g} mmol/L" in text
    assert f"Shi et al.: Mg ≤ {CUTOFF:g} mmol/L" in text
    # the grid: every shown cell holds at least 20 patients, some are suppressed
    grid = re.search(r'<table[^>]*id="prevalence-by-category-age".*?</table>', text)
    assert grid and "suppressed" in grid.group(0)
    shown = [int(n.replace(",", "")) for n in re.findall(r"n = ([\d,]+)", grid.group(0))]
    assert [n for n in shown if 0 < n < LIMIT] == []
    # every CSV of the report folder: no count of 1..19
    counts = []
    for csv_path in sorted(report.html.parent.rglob("*.csv")):
        with csv_path.open(encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                counts += [(csv_path.name, c, int(float(row[c]))) for c in COUNT_COLUMNS & set(row) if row[c]]
    assert len(counts) >= 10 and [c for c in counts if 0 < c[2] < LIMIT] == []
    # the rules' own CSV says what the build used
    with (report.html.parent / "marts" / "rules_in_effect.csv").open(encoding="utf-8") as handle:
        published = {row["rule_name"]: json.loads(row["value"]) for row in csv.DictReader(handle)}
    assert {name: published[name] for name in OVERRIDES} == OVERRIDES
    with duckdb.connect(str(snapshot_path(path)), read_only=True) as conn:
        assert load_rules(conn).value("small_cell_limit") == LIMIT


def test_a_build_with_an_unknown_var_exits_2_in_one_sentence(registry):
    """Through the real command line, on the registry's warehouse, which the refused build leaves alone."""
    path, *_ = registry
    before = rows(path, "SELECT dbt_invocation_id, rule_name, value FROM marts.rules_in_effect ORDER BY rule_name")
    done = subprocess.run([sys.executable, "-m", "etl.cli", "--warehouse", str(path), "build", "--vars",
                           "{mg_deficiency_below_mmol_l: 0.70}"], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "OSTEOREG_SECRET": "report-test-secret-of-at-least-32-characters", "COLUMNS": "200"})
    assert done.returncode == 2
    message = " ".join(done.stderr.split())
    assert "'mg_deficiency_below_mmol_l' (did you mean 'mg_deficient_below_mmol_l'?)" in message
    assert message.count(". ") == 0 and "Traceback" not in done.stderr + done.stdout
    assert rows(path, "SELECT dbt_invocation_id, rule_name, value FROM marts.rules_in_effect ORDER BY rule_name") == before
