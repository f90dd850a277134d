"""`etl.build.build`: dbt through its Python API against a real warehouse, errors as one sentence."""
from __future__ import annotations

import subprocess
import sys

import duckdb
import pytest

from etl.build import build, dbt_work_dir
from etl.errors import BlockingProblem, WarehouseLockedError
from etl.paths import DBT_PROJECT_DIR
from etl.warehouse import upgrade

from .warehouses import RawWarehouse

pytestmark = pytest.mark.slow


@pytest.fixture
def raw_warehouse(tmp_path) -> RawWarehouse:
    path = tmp_path / "osteoreg.duckdb"
    upgrade(path)
    return RawWarehouse(path)

MARTS = ["dim_patient", "fct_bmd_assessment", "fct_deficiency_flags", "fct_lab_result", "fct_latest_lab_panel",
         "fct_prescan_labs", "mg_deficiency_by_category_age", "mg_deficiency_prevalence",
         "mg_deficiency_prevalence_by_year", "rules_in_effect"]


def _one_patient_with_a_scan(raw, mg_mmol_l: float = 0.85) -> None:
    raw.patients("k1")
    raw.insert("raw.patients", [{"load_id": 1, "source_row": 1, "patient_id": "p1", "sex": "female",
                                 "birth_date": "1950-05-01", "menopausal_status": "post"}])
    raw.insert("raw.dxa_results", [{"load_id": 2, "source_row": 1, "patient_id": "p1", "scan_date": "2024-03-10",
                                    "site": "total_hip", "side": "left", "t_score": -2.0, "status": "F"}])
    raw.insert("raw.lab_results", [{"load_id": 3, "source_row": 1, "patient_id": "p1",
                                    "collected_at": "2024-03-01 08:00:00", "code": "2601-3", "code_system": "LOINC",
                                    "loinc_code": "2601-3", "value_text": str(mg_mmol_l), "value_num": mg_mmol_l,
                                    "unit": "mmol/L", "status": "F", "accession_id": "A1", "is_tracked": True}])


def test_build_runs_seeds_models_and_tests_into_the_contract_schemas(raw_warehouse):
    _one_patient_with_a_scan(raw_warehouse)
    lines: list[str] = []

    result = raw_warehouse.build(unit_tests=True, progress=lines.append)

    # every seed file and every model file of the project is built
    assert (result.seeds, result.models) == (len(list((DBT_PROJECT_DIR / "seeds").glob("*.csv"))),
                                             len(list((DBT_PROJECT_DIR / "models").rglob("*.sql"))))
    assert result.seeds >= 9 and result.models >= 20
    assert result.unit_tests >= 10 and result.tests >= 60
    assert len(lines) == len(result.nodes)
    assert "model fct_bmd_assessment: success" in "\n".join(lines)
    tables = raw_warehouse.query(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'marts' ORDER BY 1")  # and views
    assert [t for (t,) in tables] == MARTS
    schemas = {s for (s,) in raw_warehouse.query("SELECT schema_name FROM information_schema.schemata")}
    assert {"staging", "intermediate", "marts", "terminology"} <= schemas
    assert not any(s.startswith("main_") for s in schemas)
    # marts are tables except fct_lab_result, a view over the materialised converted results
    # (intermediate never reads a mart); staging is views
    kinds = dict(raw_warehouse.query(
        "SELECT table_schema || '.' || table_name, table_type FROM information_schema.tables "
        "WHERE table_name IN ('fct_lab_result', 'int_lab_results_converted', 'fct_bmd_assessment', "
        "'stg_raw__lab_results')"))
    assert kinds == {"marts.fct_lab_result": "VIEW", "intermediate.int_lab_results_converted": "BASE TABLE",
                     "marts.fct_bmd_assessment": "BASE TABLE", "staging.stg_raw__lab_results": "VIEW"}


def test_build_keeps_dbt_files_beside_the_warehouse_and_releases_it(raw_warehouse):
    _one_patient_with_a_scan(raw_warehouse)
    raw_warehouse.build()

    assert (dbt_work_dir(raw_warehouse.path) / "target" / "manifest.json").exists()
    assert (dbt_work_dir(raw_warehouse.path) / "logs" / "dbt.log").exists()
    assert not (DBT_PROJECT_DIR / "target").exists() and not (DBT_PROJECT_DIR / "logs").exists()
    # dbt-duckdb keeps its database open for the process; build must close it so the next step
    # (another process, or this one with other settings) can write.
    writer = subprocess.run(
        [sys.executable, "-c", f"import duckdb; duckdb.connect({str(raw_warehouse.path)!r}).execute('CHECKPOINT')"],
        capture_output=True, text=True)
    assert writer.returncode == 0, writer.stderr
    with duckdb.connect(str(raw_warehouse.path), read_only=True) as conn:
        assert conn.execute("SELECT count(*) FROM marts.fct_bmd_assessment").fetchone() == (1,)


def test_a_failing_data_test_is_named_in_one_sentence(raw_warehouse):
    _one_patient_with_a_scan(raw_warehouse)
    # two source ids sharing one key (a patient without scans, so nothing else breaks):
    # dim_patient's unique key test must fail, and only it
    raw_warehouse.patients("k2")
    with duckdb.connect(str(raw_warehouse.path)) as conn:
        conn.execute("INSERT INTO identity.patient_map VALUES ('p2-duplicate', 'k2', 1, TIMESTAMP '2026-01-01')")

    with pytest.raises(BlockingProblem) as failure:
        raw_warehouse.build()

    assert str(failure.value) == "dbt test unique_dim_patient_patient_key failed: 1 row."


def test_a_failing_model_is_named_with_the_database_error(raw_warehouse):
    _one_patient_with_a_scan(raw_warehouse)
    with pytest.raises(BlockingProblem) as failure:
        raw_warehouse.build(vars={"small_cell_limit": "eleven"})
    message = str(failure.value)
    # the first failing node that reads the limit: a prevalence mart, the grid mart or a unit test
    assert message.startswith(("dbt model mg_deficiency_prevalence", "dbt model mg_deficiency_by_category_age",
                               "dbt unit test prevalence_")), message
    assert '"eleven"' in message and "\n" not in message


def test_registry_vars_change_a_rule_and_unit_tests_still_pin_the_defaults(raw_warehouse):
    _one_patient_with_a_scan(raw_warehouse, mg_mmol_l=0.85)
    raw_warehouse.build()
    assert raw_warehouse.query("SELECT mg_deficient, mg_below_op_cutoff FROM marts.fct_deficiency_flags") == [(False, False)]

    result = raw_warehouse.build(unit_tests=True, vars={"mg_deficient_below_mmol_l": 0.9, "mg_op_cutoff_at_or_below_mmol_l": 0.85})

    assert raw_warehouse.query("SELECT mg_deficient, mg_below_op_cutoff FROM marts.fct_deficiency_flags") == [(True, True)]
    assert result.node("deficiency_flags_at_their_thresholds").status == "pass"


def test_select_builds_only_what_is_asked(raw_warehouse):
    _one_patient_with_a_scan(raw_warehouse)
    result = raw_warehouse.build(select="+dim_patient")
    assert "fct_lab_result" not in {n.name for n in result.nodes}
    assert raw_warehouse.query("SELECT patient_key, sex, birth_year FROM marts.dim_patient") == [("k1", "F", 1950)]


def test_a_warehouse_locked_by_another_process_is_one_sentence(raw_warehouse):
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
         "print('ready', flush=True); time.sleep(60)", str(raw_warehouse.path)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        with pytest.raises(WarehouseLockedError, match=r"is locked by process \d+"):
            build(raw_warehouse.path)
    finally:
        holder.kill()
        holder.wait()
