"""Every example query of docs/analyst-guide.md runs through `osteoreg sql` on the demo warehouse
and answers what its title says."""
from __future__ import annotations

import re

import pytest

from etl import sql
from etl.paths import PROJECT_ROOT
from etl.publish import snapshot_path

from .warehouses import rows, rules_of

pytestmark = pytest.mark.slow

GUIDE = PROJECT_ROOT / "docs" / "analyst-guide.md"


def _queries() -> dict[str, str]:
    blocks = re.findall(r"```sql\n(.*?)```", GUIDE.read_text(encoding="utf-8"), flags=re.S)
    return {re.search(r"-- name: (\w+)", block).group(1): block for block in blocks}


QUERIES = _queries()


def test_the_guide_has_at_least_ten_examples():
    assert len(QUERIES) >= 10
    for needed in ("prevalence_trend", "deficiency_by_category_and_sex", "osteoporosis_with_low_magnesium",
                   "vitamin_d_and_magnesium", "quality_drift"):
        assert needed in QUERIES


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_example_query_runs_on_the_demo_warehouse(demo, name):
    result = sql.query(demo.path, QUERIES[name])
    assert result.rows, f"{name} returned no rows"
    assert len(set(result.columns)) == len(result.columns)
    check = CHECKS.get(name)
    if check:
        check(demo, dict(zip(result.columns, zip(*result.rows))), result)


def _trend(demo, columns, result):
    mart = rows(snapshot_path(demo.path), "SELECT year, n_assessed FROM marts.mg_deficiency_prevalence_by_year "
                           "WHERE NOT suppressed ORDER BY year")
    assert list(zip(columns["year"], columns["n_assessed"])) == mart


def _by_category_and_sex(demo, columns, result):
    assert set(columns["sex"]) <= {"F", "M", "unknown"} and min(columns["patients"]) >= rules_of(snapshot_path(demo.path)).value("small_cell_limit")
    assert "osteoporosis" in columns["who_category"]


def _low_magnesium(demo, columns, result):
    assert set(columns["who_category"]) <= {"osteoporosis", "severe_osteoporosis"}
    rules = rules_of(snapshot_path(demo.path))
    assert max(columns["mg_mmol_l"]) <= rules.value("mg_op_cutoff_at_or_below_mmol_l")
    assert max(columns["min_t_score"]) <= rules.value("who_osteoporosis_t_score_max")


def _vitamin_d(demo, columns, result):
    assert set(columns["vitd_status"]) <= {"deficient", "insufficient", "sufficient"}
    total = rows(demo.path, "SELECT count(*) FROM marts.fct_deficiency_flags WHERE vitd_status IS NOT NULL "
                            "AND mg_mmol_l IS NOT NULL")[0][0]
    assert sum(columns["assessments"]) <= total


def _drift(demo, columns, result):
    assert len(result.rows) == min(20, rows(demo.path, "SELECT count(*) FROM audit.quality_trend "
                                                       "WHERE status <> 'skipped'")[0][0])


def _loads(demo, columns, result):
    assert all(columns["balanced"])
    assert sum(columns["files"]) == rows(demo.path, "SELECT count(*) FROM audit.loads WHERE status <> 'failed'")[0][0]


def _performance(demo, columns, result):
    assert set(columns["model_name"]) == {"ost", "shi2026_abstract_ors", "local_lasso"}
    assert all(low < auc < high for auc, low, high in zip(columns["auroc"], columns["auroc_ci_low"],
                                                           columns["auroc_ci_high"]))


CHECKS = {"prevalence_trend": _trend, "deficiency_by_category_and_sex": _by_category_and_sex,
          "osteoporosis_with_low_magnesium": _low_magnesium, "vitamin_d_and_magnesium": _vitamin_d,
          "quality_drift": _drift, "loads_by_format": _loads, "model_performance": _performance}
