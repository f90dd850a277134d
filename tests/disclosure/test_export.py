"""`osteoreg export --restricted`: row-level marts leave the snapshot only by name, with a warning
and a record of who asked, when and what (audit.restricted_exports, migration 0008)."""
from __future__ import annotations

import csv
import getpass
import json
import shutil

import duckdb
import pytest
from typer.testing import CliRunner

from etl.cli import app
from etl.publish import snapshot_path

pytestmark = pytest.mark.slow


@pytest.fixture
def warehouse(tiny, tmp_path):
    target = tmp_path / "osteoreg.duckdb"
    shutil.copy(tiny, target)
    shutil.copy(snapshot_path(tiny), snapshot_path(target))
    return target


def test_export_writes_the_tables_and_records_who_asked(warehouse, tmp_path):
    out = tmp_path / "restricted"
    result = CliRunner().invoke(app, ["export", "--restricted", "fct_lab_result", "marts.dim_patient",
                                      "--out", str(out), "--warehouse", str(warehouse)])
    assert result.exit_code == 0, result.output
    assert "warning: row-level data" in result.output
    with duckdb.connect(str(snapshot_path(warehouse)), read_only=True) as conn:
        labs = conn.execute("SELECT count(*) FROM marts.fct_lab_result").fetchall()[0][0]
        patients = conn.execute("SELECT count(*) FROM marts.dim_patient").fetchall()[0][0]
    with (out / "fct_lab_result.csv").open(encoding="utf-8") as handle:
        assert sum(1 for _ in csv.DictReader(handle)) == labs > 0
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        (user, tables, folder, written), = conn.execute(
            "SELECT os_user, tables, out_dir, rows_written FROM audit.restricted_exports").fetchall()
    assert user == getpass.getuser()
    assert json.loads(tables) == ["marts.fct_lab_result", "marts.dim_patient"]
    assert folder == str(out.absolute()) and written == labs + patients


@pytest.mark.parametrize("args, says", [
    (["fct_lab_result"], "--restricted"),
    (["--restricted", "mg_deficiency_prevalence"], "'mg_deficiency_prevalence' is not a row-level table"),
    (["--restricted", "identity.patient_map"], "is not a row-level table"),
])
def test_export_refuses_without_the_flag_or_for_other_tables(warehouse, tmp_path, args, says):
    from etl.disclosure.export import export_restricted
    from etl.errors import UsageError

    if "--restricted" not in args:
        result = CliRunner().invoke(app, ["export", *args, "--out", str(tmp_path / "x"), "--warehouse", str(warehouse)])
        assert result.exit_code != 0 and isinstance(result.exception, UsageError) and says in str(result.exception)
    else:
        with pytest.raises(UsageError, match=says):
            export_restricted(warehouse, args[1:], tmp_path / "x")
    assert not (tmp_path / "x").exists()
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        recorded = conn.execute("SELECT count(*) FROM information_schema.tables "
                                "WHERE table_name = 'restricted_exports'").fetchall()[0][0]
        if recorded:
            assert conn.execute("SELECT count(*) FROM audit.restricted_exports").fetchall()[0][0] == 0
