"""The command line's exit codes and messages for `ingest`, `init` and `--help` (the Alembic schema: tests/migrations)."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb

from etl import warehouse

OSTEOREG = [sys.executable, "-m", "etl.cli"]


def run(args, env_extra=None, cwd=None):
    env = {**os.environ, "OSTEOREG_SECRET": "cli-secret-of-at-least-32-characters", **(env_extra or {})}
    return subprocess.run(OSTEOREG + args, capture_output=True, text=True, env=env, cwd=cwd, timeout=120)


def test_ingest_prints_a_line_per_file_and_exit_0(tmp_path, write, warehouse_path):
    write(tmp_path / "in" / "labs.csv", "patient_id,collected_at,code,value,unit\nP1,2024-01-01,2601-3,0.8,mmol/L\n"
                                        ",2024-01-01,2601-3,0.8,mmol/L\n")
    result = run(["--warehouse", str(warehouse_path), "ingest", str(tmp_path / "in")])
    assert result.returncode == 0, result.stderr
    assert "labs.csv labs (csv): read 2, loaded 1, quarantined 1, duplicate 0" in result.stdout
    assert "Rows read 2 = loaded 1 + quarantined 1 + duplicate 0." in " ".join(result.stdout.split())


def test_unreadable_input_exits_2_with_one_sentence(tmp_path, write, warehouse_path):
    bad = write(tmp_path / "mystery.csv", "alpha,beta\n1,2\n")
    result = run(["ingest", "--warehouse", str(warehouse_path), str(bad)])
    assert result.returncode == 2
    message = " ".join(result.stderr.split())
    assert (f"{bad} line 1: the header (2 columns, none of them a registry column) is not a patients, labs, "
            "dxa or fractures export") in message
    assert "Traceback" not in result.stderr + result.stdout
    with duckdb.connect(str(warehouse_path), read_only=True) as conn:
        assert conn.execute("SELECT status FROM audit.loads").fetchall() == [("failed",)]
        assert conn.execute("SELECT count(*) FROM raw.lab_results").fetchone() == (0,)


def test_missing_path_exits_2(tmp_path, warehouse_path):
    result = run(["ingest", "-w", str(warehouse_path), str(tmp_path / "nowhere.csv")])
    assert result.returncode == 2
    assert result.stderr.strip().endswith("nowhere.csv: no such file or folder.")


def test_locked_warehouse_is_one_sentence(tmp_path, write, warehouse_path):
    warehouse.upgrade(warehouse_path)
    holder = subprocess.Popen([sys.executable, "-c",
                               f"import duckdb, time; c = duckdb.connect({str(warehouse_path)!r}); "
                               "print('ready', flush=True); time.sleep(60)"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        labs = write(tmp_path / "labs.csv", "patient_id,collected_at,code,value,unit\nP1,2024-01-01,2601-3,0.8,mmol/L\n")
        result = run(["ingest", "-w", str(warehouse_path), str(labs)])
    finally:
        holder.kill()
        holder.wait()
    assert result.returncode == 1
    assert f"is locked by process {holder.pid}" in " ".join(result.stderr.split())
    assert "Traceback" not in result.stderr


def test_warehouse_from_environment(tmp_path, write):
    target = tmp_path / "env" / "reg.duckdb"
    result = run(["init"], env_extra={"OSTEOREG_WAREHOUSE": str(target)})
    assert result.returncode == 0 and target.exists()
    assert warehouse.current_revision(target) == warehouse.head_revision()


def test_every_command_has_help():
    import typer.main
    from typer.testing import CliRunner

    from etl.cli import app

    commands = sorted(typer.main.get_command(app).commands)
    assert {"init", "ingest", "demo"} <= set(commands)
    runner = CliRunner()
    for command in commands:
        result = runner.invoke(app, [command, "--help"], terminal_width=80)
        assert result.exit_code == 0 and "Usage:" in result.output, command
        assert max(len(line) for line in result.output.splitlines()) <= 80, command
