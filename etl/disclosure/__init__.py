"""Disclosure control, in one place, for everything that leaves the restricted warehouse.

`policy` reads the rules in effect (limit, protection width) and names the row-level marts that
never leave; `linked` is the attacker's linear programme and the secondary suppression that
defeats it; `prevalence` and `tables` describe the releases (the prevalence marts in the
snapshot; Table 1 and the heat map of the report) as linked tables; `audit` is the attacker
that reads only what was published (report folder and snapshot).
"""
from .policy import AGGREGATE_MARTS, PRIMARY, ROW_LEVEL_MARTS, RULE_MARTS, SECONDARY, Policy, load_policy

__all__ = ["AGGREGATE_MARTS", "PRIMARY", "ROW_LEVEL_MARTS", "RULE_MARTS", "SECONDARY", "Policy", "load_policy"]
