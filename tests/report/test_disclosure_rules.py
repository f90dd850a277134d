"""The report's rules come only from the snapshot it reports on (issue 11): outside a report
there is no build's rule to use, and the dbt project's defaults are no stand-in."""
from __future__ import annotations

import duckdb
import pytest

from etl.errors import UsageError
from etl.publish import snapshot_path
from etl.report import disclosure


@pytest.mark.parametrize("ask", [lambda: disclosure.rule("small_cell_limit"), disclosure.policy,
                                 disclosure.small_cell_limit, lambda: disclosure.count_text(5)])
def test_outside_a_report_every_rule_is_refused_in_one_sentence(ask):
    disclosure.deactivate()
    with pytest.raises(UsageError) as refused:
        ask()
    assert "marts.rules_in_effect" in str(refused.value) and ". " not in str(refused.value)


def test_inside_a_report_the_rules_are_the_snapshots(tiny):
    with duckdb.connect(str(snapshot_path(tiny)), read_only=True) as conn:
        policy = disclosure.activate(conn)
        limit = conn.execute("SELECT value FROM marts.rules_in_effect WHERE rule_name = 'small_cell_limit'").fetchone()[0]
    try:
        assert disclosure.small_cell_limit() == policy.limit == int(limit)
        assert disclosure.count_text(int(limit) - 1) == "suppressed" and disclosure.count_text(int(limit)) == limit
    finally:
        disclosure.deactivate()
    with pytest.raises(UsageError):
        disclosure.rule("small_cell_limit")
