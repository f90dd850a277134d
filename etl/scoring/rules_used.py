"""The registry rules the models' cards state, as the build used them (marts.rules_in_effect).

Scoring reads the marts' columns (the outcome, the pre-scan labs, the magnesium flag), so it
never applies a rule itself; the cards only *state* the values, and those must be the build's,
not a default: `etl.rules.load_rules` reads `marts.rules_in_effect` (osteoreg issue 11) and
refuses in one sentence when the warehouse has not been built.
"""
from __future__ import annotations

from .. import rules

STATED = ("who_osteoporosis_t_score_max", "iscd_who_applies_from_age", "prescan_lab_window_days",
          "mg_op_cutoff_at_or_below_mmol_l", "triage_no_dxa_within_years")


def rules_in_effect(conn) -> dict:
    in_effect = rules.load_rules(conn)
    return {name: in_effect.value(name) for name in STATED}
