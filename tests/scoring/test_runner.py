"""`etl.scoring.runner`: a model version belongs to the rules it was made under."""
from __future__ import annotations

import duckdb

from etl.scoring.runner import model_cards, score

from ..warehouses import copy_warehouse


def _current(path) -> dict[str, str]:
    with duckdb.connect(str(path), read_only=True) as conn:
        return dict(conn.execute("SELECT model_name, model_version FROM scoring.models WHERE is_current").fetchall())


def test_a_rebuild_under_other_rules_makes_new_versions_that_state_them(scored_cohort, tmp_path):
    """After `build --vars` changed the Mg cut-off, `score` must not keep scoring with a model whose
    flag term and card belong to 0.845: every model gets a version made under the build's rules."""
    path = copy_warehouse(scored_cohort[0], tmp_path)
    before = _current(path)
    assert before and all("0.8 mmol/L" not in str(card) for card in model_cards(path))
    with duckdb.connect(str(path)) as conn:   # what a rebuild at 0.80 leaves: the rule and the flag
        conn.execute("UPDATE marts.rules_in_effect SET value = '0.8' "
                     "WHERE rule_name = 'mg_op_cutoff_at_or_below_mmol_l'")
        conn.execute("UPDATE marts.fct_deficiency_flags SET mg_below_op_cutoff = mg_mmol_l <= 0.8 "
                     "WHERE mg_mmol_l IS NOT NULL")

    score(path)
    after = _current(path)
    assert after.keys() == before.keys()
    assert all(after[name] != before[name] for name in before), (before, after)
    cards = {card["model_name"]: card for card in model_cards(path)}
    assert "mg <= 0.8 mmol/L" in cards["local_lasso"]["units"]
    assert "0.845 mmol/L, var" not in cards["local_lasso"]["units"]

    score(path)                                # the same rules again: no new version
    assert _current(path) == after
