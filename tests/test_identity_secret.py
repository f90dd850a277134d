"""A secret given in the environment is held to the same length as the secret file: a short key
makes the patient keys recomputable from guessed ids, so it is refused before anything is read."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from etl import identity
from etl.errors import UsageError


@pytest.mark.parametrize("value", ["s3cret", "x" * (identity.MIN_SECRET_BYTES - 1), "  short-with-blanks  "])
def test_a_short_secret_in_the_environment_is_refused(tmp_path, monkeypatch, value):
    monkeypatch.setenv("OSTEOREG_SECRET", value)
    with pytest.raises(UsageError) as refused:
        identity.load_secret(tmp_path / "osteoreg.duckdb")
    message = str(refused.value)
    assert message.startswith(f"OSTEOREG_SECRET holds only {len(value.strip())} characters; a key needs at least 32")
    assert value.strip() not in message          # the key itself is never echoed
    assert message.count(". ") == 0 and message.endswith(".")
    assert not identity.secret_path(tmp_path / "osteoreg.duckdb").exists()


def test_a_secret_of_the_minimum_length_in_the_environment_is_used(tmp_path, monkeypatch):
    value = "k" * identity.MIN_SECRET_BYTES
    monkeypatch.setenv("OSTEOREG_SECRET", value)
    assert identity.load_secret(tmp_path / "osteoreg.duckdb") == value.encode()
    assert not identity.secret_path(tmp_path / "osteoreg.duckdb").exists()   # no file is made beside it


def test_the_command_line_refuses_a_short_environment_secret_with_exit_2(tmp_path, write):
    labs = write(tmp_path / "in" / "labs.csv", "patient_id,collected_at,code,value,unit\nP1,2024-01-01,2601-3,0.8,mmol/L\n")
    warehouse_path = tmp_path / "wh" / "osteoreg.duckdb"
    done = subprocess.run([sys.executable, "-m", "etl.cli", "--warehouse", str(warehouse_path), "ingest", str(labs)],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "OSTEOREG_SECRET": "hospital-a"})
    assert done.returncode == 2, done.stdout + done.stderr
    said = " ".join(done.stderr.split())
    assert said.startswith("error: OSTEOREG_SECRET holds only 10 characters; a key needs at least 32"), said
    assert "Traceback" not in done.stdout + done.stderr and "hospital-a" not in done.stdout + done.stderr
    assert not warehouse_path.exists()          # refused before the warehouse is made
