"""marts.rules_in_effect: the values a real build used, defaults and `--vars` alike (contract 6).

One warehouse is built twice: first with the defaults, then with the issue-11 overrides
(`small_cell_limit` 20, `mg_op_cutoff_at_or_below_mmol_l` 0.80, `mg_deficient_below_mmol_l`
0.70). The marts' flags and suppression and `rules_in_effect` must follow the second build.
`test_build_with_vars_flags_and_suppresses_by_them` is the place to extend for the parts
downstream of the marts (checks, scoring frame, model cards, report text, grid and CSVs).
"""
from __future__ import annotations

import csv
import json

import dbt.version
import duckdb
import pytest

from etl import __version__
from etl.errors import UsageError
from etl.paths import SEEDS_DIR
from etl.publish import publish_snapshot, snapshot_path
from etl.rules import load_rules, project_vars

OVERRIDES = {"small_cell_limit": 20, "mg_op_cutoff_at_or_below_mmol_l": 0.80, "mg_deficient_below_mmol_l": 0.70}


def _catalog() -> dict[str, dict]:
    with (SEEDS_DIR / "rule_catalog.csv").open(newline="", encoding="utf-8") as handle:
        return {row["rule_name"]: row for row in csv.DictReader(handle)}


def test_every_var_has_a_catalog_row_and_every_row_a_var():
    variables, catalog = set(project_vars()), set(_catalog())
    assert not variables - catalog, f"vars without a row in seeds/rule_catalog.csv: {sorted(variables - catalog)}"
    assert not catalog - variables, f"rule_catalog.csv rows without a var in dbt_project.yml: {sorted(catalog - variables)}"


def test_every_catalog_row_names_a_unit_and_a_source():
    for name, row in _catalog().items():
        assert row["unit"].strip(), name
        assert len(row["source"].strip()) > 10, name


# Twelve women aged 63 scanned in 2024 with one matched magnesium each: one cell of 12 patients,
# shown under the default small-cell limit (11), suppressed under 20. Magnesium values sit
# between the default and the overridden thresholds so every flag changes with the vars:
# 0.72 is deficient by 0.75 but not by 0.70; 0.82 is below the 0.845 cut-off but not 0.80.
MG = [0.72] * 4 + [0.82] * 8


@pytest.fixture(scope="module")
def built(new_raw_warehouse):
    raw = new_raw_warehouse()
    keys = [f"k{i}" for i in range(1, len(MG) + 1)]
    raw.patients(*keys)
    raw.insert("raw.patients", [
        {"load_id": 7, "source_row": i, "patient_id": f"p{i}", "sex": "F", "birth_date": "1960-07-01",
         "menopausal_status": "post"} for i in range(1, len(MG) + 1)])
    raw.insert("raw.dxa_results", [
        {"load_id": 7, "source_row": i, "patient_id": f"p{i}", "scan_date": "2024-03-10",
         "site": "lumbar_spine_l1_l4", "t_score": -2.0, "status": "F"} for i in range(1, len(MG) + 1)])
    raw.insert("raw.lab_results", [
        {"load_id": 7, "source_row": i, "patient_id": f"p{i}", "collected_at": "2024-03-01 08:00:00",
         "code": "2601-3", "code_system": "LOINC", "loinc_code": "2601-3", "value_text": str(mg),
         "value_num": mg, "unit": "mmol/L", "status": "F", "accession_id": f"A{i}", "is_tracked": True}
        for i, mg in enumerate(MG, start=1)])
    with duckdb.connect(str(raw.path)) as conn:
        # the highest *loaded* load counts; a failed load's id is higher but delivered nothing
        conn.execute("""INSERT INTO audit.loads (load_id, source_path, status, started_at) VALUES
            (3, 'a.csv', 'loaded', TIMESTAMP '2026-01-01'), (7, 'b.csv', 'loaded', TIMESTAMP '2026-01-02'),
            (9, 'c.csv', 'failed', TIMESTAMP '2026-01-03')""")

    raw.build()
    defaults = {
        "rules": raw.query("SELECT rule_name, value, dbt_invocation_id FROM marts.rules_in_effect"),
        "flags": raw.query("SELECT mg_mmol_l, mg_deficient, mg_below_op_cutoff FROM marts.fct_deficiency_flags "
                           "GROUP BY ALL ORDER BY 1"),
        "by_year": raw.query("SELECT year, n_assessed, n_deficient, suppressed FROM marts.mg_deficiency_prevalence_by_year"),
    }
    raw.build(vars=OVERRIDES)
    return raw, defaults


def test_default_build_records_the_yaml_defaults(built):
    _, defaults = built
    assert {name: json.loads(value) for name, value, _ in defaults["rules"]} == project_vars()
    assert defaults["flags"] == [(0.72, True, True), (0.82, False, True)]
    # 12 patients, 4 deficient: at the default limit the numerator 4 is small, so the year is
    # suppressed (issue 14: numerators and complements are counts too)
    assert defaults["by_year"] == [(2024, None, None, True)]


def test_build_with_vars_flags_and_suppresses_by_them(built):
    raw, _ = built
    assert raw.query("SELECT mg_mmol_l, mg_deficient, mg_below_op_cutoff FROM marts.fct_deficiency_flags "
                     "GROUP BY ALL ORDER BY 1") == [(0.72, False, True), (0.82, False, False)]
    assert raw.query("SELECT year, n_assessed, n_deficient, prevalence, ci_low, suppressed "
                     "FROM marts.mg_deficiency_prevalence_by_year") == [(2024, None, None, None, None, True)]
    assert raw.query("SELECT bool_and(suppressed) FROM marts.mg_deficiency_prevalence") == [(True,)]
    with duckdb.connect(str(raw.path), read_only=True) as conn:
        rules = load_rules(conn)
    assert rules.value("small_cell_limit") == 20
    assert rules.value("mg_op_cutoff_at_or_below_mmol_l") == 0.80
    assert rules.value("mg_deficient_below_mmol_l") == 0.70


def test_rules_in_effect_has_one_row_per_var_with_unit_and_source(built):
    raw, defaults = built
    catalog = _catalog()
    rows = raw.query("SELECT rule_name, value, unit, source FROM marts.rules_in_effect ORDER BY rule_name")
    assert [name for name, *_ in rows] == sorted(project_vars())
    expected = {**project_vars(), **OVERRIDES}
    with duckdb.connect(str(raw.path), read_only=True) as conn:
        rules = load_rules(conn)
    for name, _, unit, source in rows:
        assert (unit, source) == (catalog[name]["unit"], catalog[name]["source"])
        assert rules.value(name) == expected[name]
        assert (rules.unit(name), rules.source(name)) == (unit, source)
    assert rules.value("age_band_lower_bounds") == [50, 60, 70, 80]
    assert [rule.rule_name for rule in rules.rows()] == sorted(project_vars())


def test_rules_in_effect_identifies_the_build(built):
    raw, defaults = built
    ((invocations, osteoreg_version, dbt_version, max_load_id, built_at),) = raw.query(
        "SELECT list(DISTINCT dbt_invocation_id), any_value(osteoreg_version), any_value(dbt_version), "
        "any_value(max_load_id), any_value(built_at) FROM marts.rules_in_effect")
    assert len(invocations) == 1 and len(invocations[0]) == 36
    assert invocations[0] != defaults["rules"][0][2]  # the second build's own id
    assert (osteoreg_version, dbt_version, max_load_id) == (__version__, dbt.version.__version__, 7)
    assert built_at.year >= 2026
    with duckdb.connect(str(raw.path), read_only=True) as conn:
        rules = load_rules(conn)
    assert (rules.dbt_invocation_id, rules.osteoreg_version, rules.max_load_id) == (invocations[0], __version__, 7)


def test_published_snapshot_carries_the_rules_in_effect(built):
    raw, _ = built
    publish_snapshot(raw.path, dictionary=False)
    with duckdb.connect(str(snapshot_path(raw.path)), read_only=True) as conn:
        columns = [c for (c,) in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'marts' "
            "AND table_name = 'rules_in_effect' ORDER BY ordinal_position").fetchall()]
        rules = load_rules(conn)
    assert columns == ["rule_name", "value", "unit", "source", "built_at", "dbt_invocation_id",
                       "osteoreg_version", "dbt_version", "max_load_id"]
    assert rules.value("small_cell_limit") == 20 and rules.max_load_id == 7


def test_load_rules_before_any_build_says_to_build(raw_warehouse):
    with duckdb.connect(str(raw_warehouse.path), read_only=True) as conn:
        with pytest.raises(UsageError, match="run osteoreg build first"):
            load_rules(conn)


def test_a_rule_the_build_did_not_record_is_one_sentence(built):
    raw, _ = built
    with duckdb.connect(str(raw.path), read_only=True) as conn:
        rules = load_rules(conn)
    with pytest.raises(UsageError, match="no rule 'mg_deficiency_below_mmol_l'"):
        rules.value("mg_deficiency_below_mmol_l")


def test_quality_checks_hold_the_flags_to_the_rules_the_build_used(built):
    from etl.quality.runner import run_checks

    raw, _ = built
    run = run_checks(raw.path, ["marts_fct_deficiency_flags"])
    assert run.passed and run.failed == 0
    # the same marts judged by a different rule in effect: the four 0.72 mmol/L patients, not
    # deficient under 0.70, would be under 0.75, so the check names exactly them
    with duckdb.connect(str(raw.path)) as conn:
        conn.execute("UPDATE marts.rules_in_effect SET value = '0.75' WHERE rule_name = 'mg_deficient_below_mmol_l'")
    try:
        run = run_checks(raw.path, ["marts_fct_deficiency_flags"])
    finally:
        with duckdb.connect(str(raw.path)) as conn:
            conn.execute("UPDATE marts.rules_in_effect SET value = '0.7' WHERE rule_name = 'mg_deficient_below_mmol_l'")
    failed = [(f.column, f.unexpected_count) for f in run.failures]
    assert failed == [("mg_deficient", 4)]
