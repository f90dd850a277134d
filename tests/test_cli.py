"""`osteoreg build --vars` through the real command line: unknown rule names are refused (issue 11)."""
from __future__ import annotations

import os
import re
import subprocess
import sys

from etl.rules import project_vars

OSTEOREG = [sys.executable, "-m", "etl.cli"]


def run(args):
    env = {**os.environ, "OSTEOREG_SECRET": "cli-secret-of-at-least-32-characters", "COLUMNS": "200"}
    return subprocess.run(OSTEOREG + args, capture_output=True, text=True, env=env, timeout=120)


def test_unknown_var_exits_2_naming_it_and_the_nearest_rule(warehouse_path):
    result = run(["--warehouse", str(warehouse_path), "build", "--vars",
                  "{mg_deficiency_below_mmol_l: 0.70, small_cell_limit: 20}"])
    assert result.returncode == 2
    message = " ".join(result.stderr.split())
    assert message == ("error: --vars names no rule of the dbt project: 'mg_deficiency_below_mmol_l' (did you mean "
                       "'mg_deficient_below_mmol_l'?); the project's rules are listed in "
                       "dbt_project/seeds/rule_catalog.csv.")
    assert "Traceback" not in result.stderr + result.stdout
    # refused before anything ran: no warehouse was created, dbt never started
    assert not warehouse_path.exists()


def test_every_unknown_var_is_named_and_one_far_from_all_gets_no_guess(warehouse_path):
    result = run(["--warehouse", str(warehouse_path), "build", "--vars", '{"smal_cell_limit": 5, "zzz": 1}'])
    assert result.returncode == 2
    message = " ".join(result.stderr.split())
    assert "'smal_cell_limit' (did you mean 'small_cell_limit'?), 'zzz';" in message
    assert "Traceback" not in message


def test_build_help_and_the_vars_error_show_a_real_rule():
    help_text = " ".join(run(["build", "--help"]).stdout.split())
    (example,) = re.findall(r"e\.g\. '\{(\w+):", help_text)
    assert example in project_vars()
    bad = run(["build", "--vars", "not a mapping"])
    assert bad.returncode == 2
    (named,) = re.findall(r"such as '\{(\w+):", " ".join(bad.stderr.split()))
    assert named in project_vars()
