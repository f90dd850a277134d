"""Files that hold PHI or the key are the owner's only; a key that protects nothing is refused."""
from __future__ import annotations

import os
import stat

import pytest

from etl import identity, warehouse
from etl.errors import OsteoregError
from etl.ingest.loader import ingest_paths


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_new_warehouse_and_its_secret_are_owner_only_whatever_the_umask(tmp_path, write, monkeypatch):
    monkeypatch.delenv("OSTEOREG_SECRET", raising=False)
    previous = os.umask(0o022)
    try:
        path = tmp_path / "wh" / "osteoreg.duckdb"
        labs = write(tmp_path / "labs.csv", "patient_id,collected_at,code,value,unit\nP1,2024-01-01,2601-3,0.8,mmol/L\n")
        assert ingest_paths(path, [labs]).files[0].status == "loaded"
    finally:
        os.umask(previous)
    assert _mode(path) == 0o600
    assert _mode(identity.secret_path(path)) == 0o600


def test_a_warehouse_made_by_connect_is_owner_only(tmp_path):
    path = tmp_path / "direct.duckdb"
    with warehouse.session(path):
        pass
    assert _mode(path) == 0o600


@pytest.mark.parametrize("content, said", [(b"", "holds nothing"), (b"\n  \n", "holds nothing"),
                                           (b"0123456789abcdef", "holds only 16 characters")])
def test_an_empty_or_short_secret_file_is_refused_in_one_sentence(tmp_path, monkeypatch, content, said):
    monkeypatch.delenv("OSTEOREG_SECRET", raising=False)
    path = tmp_path / "osteoreg.duckdb"
    secret = identity.secret_path(path)
    secret.write_bytes(content)
    secret.chmod(0o600)
    with pytest.raises(OsteoregError) as refused:
        identity.load_secret(path)
    message = str(refused.value)
    assert message.startswith(f"The secret file {secret} {said}; a key needs at least 32")
    assert message.count(". ") == 0 and message.endswith(".")


def test_a_blank_secret_in_the_environment_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("OSTEOREG_SECRET", "   ")
    with pytest.raises(OsteoregError, match="^OSTEOREG_SECRET holds only white space"):
        identity.load_secret(tmp_path / "osteoreg.duckdb")


def test_the_command_line_creates_nothing_others_can_read(tmp_path, write):
    """The write-ahead log, dbt's folder and the secret are created by DuckDB, dbt and us with
    the process umask: the CLI sets 077, so a umask of 022 leaves nothing world-readable."""
    import subprocess
    import sys

    labs = write(tmp_path / "in" / "labs.csv", "patient_id,collected_at,code,value,unit\nP1,2024-01-01,2601-3,0.8,mmol/L\n")
    home = tmp_path / "wh"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "OSTEOREG_SECRET"}
    # the warehouse's folder is made by osteoreg too, as every file DuckDB and dbt add beside it
    warehouse_path = home / "site" / "osteoreg.duckdb"
    done = subprocess.run(f"umask 022; {sys.executable} -m etl.cli --warehouse {warehouse_path} ingest {labs}",
                          shell=True, capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    created = [p for p in home.rglob("*")]
    assert created and all(_mode(p) & 0o077 == 0 for p in created), {str(p): oct(_mode(p)) for p in created}
