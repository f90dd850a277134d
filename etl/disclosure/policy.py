"""The disclosure policy as the build set it (contract section 6, "Disclosure control").

Three rules, all read from the rules in effect so the report says what the marts did:
- `small_cell_limit` (dbt var): a count from 1 to limit - 1 is never shown. The counts that
  matter for a prevalence cell are its denominator, its numerator and their difference (the
  CMS cell-size suppression policy covers any count from 1 to 10 and anything it can be
  derived from); for Table 1 every patient count and the missing count of each variable.
- `disclosure_protection_width` (dbt var; empty means the limit): an attacker who solves
  every published equality and inequality together must not narrow a suppressed count to an
  interval narrower than this, unless the whole interval is at or above the limit (a large
  count, not a small one) or the count is known to be 0 (nobody is disclosed).
- Row-level facts are never part of a release (`ROW_LEVEL_MARTS`).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..errors import UsageError
from ..rules import load_rules

# Marts with one row per patient, scan or result (contract section 6): they stay in the restricted
# snapshot and leave it only through `osteoreg export --restricted`, which is audited.
ROW_LEVEL_MARTS = frozenset({"dim_patient", "fct_lab_result", "fct_bmd_assessment", "fct_deficiency_flags",
                             "fct_prescan_labs"})
# Aggregate marts that a release may carry, each protected by this package before it is published.
AGGREGATE_MARTS = ("mg_deficiency_prevalence", "mg_deficiency_prevalence_by_year", "mg_deficiency_by_category_age")
# Marts without counts of patients that a release carries as they are.
RULE_MARTS = ("rules_in_effect",)

PRIMARY = "primary"
SECONDARY = "secondary"


@dataclass(frozen=True)
class Policy:
    limit: int                 # smallest count that may be shown (counts 1..limit-1 are hidden)
    protection_width: int      # narrowest feasible interval an attacker may reach for a hidden count

    def is_small(self, count: float | int | None) -> bool:
        """A count from 1 to limit - 1; 0 discloses nobody and None is no count."""
        return count is not None and 0 < count < self.limit

    def protects(self, low: float, high: float) -> bool:
        """Whether a hidden count known to lie in [low, high] stays protected."""
        return high <= 0 or low >= self.limit or high - low >= self.protection_width

    def describe(self) -> str:
        return (f"no count from 1 to {self.limit - 1} is shown, numerators and complements included; further "
                f"cells are suppressed so that no hidden count can be narrowed below a range of "
                f"{self.protection_width} by combining the published tables")


def policy_from(value: Callable[[str], object]) -> Policy:
    """The policy from a rule reader (`RulesInEffect.value`): the build's values, not defaults."""
    limit = int(value("small_cell_limit"))
    try:
        width = value("disclosure_protection_width")
    except UsageError:   # a build from before the rule existed: its protection was the limit
        width = None
    return Policy(limit=limit, protection_width=limit if width is None else int(width))


def load_policy(conn) -> Policy:
    """The policy of the build behind `conn` (a warehouse or snapshot connection), from
    `marts.rules_in_effect`; `load_rules` refuses in one sentence when nothing was built. There is
    no fallback to the project's defaults: a registry may have built with other values."""
    return policy_from(load_rules(conn).value)
