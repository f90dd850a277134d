"""Disclosure control as the report applies it, through `etl.disclosure` (one policy, one engine).

The prevalence marts arrive from the snapshot already protected (primary suppression in dbt,
secondary at publication); this module protects what the report computes itself: Table 1 and
the binned picture of magnesium against the T-score, and prints hidden counts as
"suppressed" (never "<11", which would say the count is between 1 and 10).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
import math
from dataclasses import dataclass

from ..disclosure import SECONDARY, Policy
from ..disclosure.audit import attack_prevalence, patient_years
from ..disclosure.linked import Release, extent
from ..disclosure.policy import policy_from
from ..errors import UsageError
from ..rules import RulesInEffect, load_rules
from ..disclosure.tables import PATIENTS, binned_release, grouped_release, protect_release

SUPPRESSED = "suppressed"


# The rules of the snapshot being reported on, set by `activate` when a report starts, so every
# figure, sentence and suppression of the page uses the build's values (marts.rules_in_effect).
# There is no fallback to the dbt project's defaults: a registry may have built with other values,
# and a figure computed outside a report would silently use rules no build used.
_ACTIVE: dict[str, object] = {}
_NOT_ACTIVE = ("No snapshot's rules are active, so the rules in effect are unknown; the report reads them "
               "from marts.rules_in_effect (etl.report.disclosure.activate) before computing a figure.")


def activate(conn) -> Policy:
    """Read the snapshot's rules in effect for the report now being written; returns the policy."""
    rules = load_rules(conn)
    _ACTIVE["rules"], _ACTIVE["policy"] = rules, policy_from(rules.value)
    return _ACTIVE["policy"]


def deactivate() -> None:
    """Forget the rules of the report just written (the next report reads its own)."""
    _ACTIVE.clear()


def policy() -> Policy:
    """The active report's policy; refused in one sentence when no report is being written."""
    if "policy" not in _ACTIVE:
        raise UsageError(_NOT_ACTIVE)
    return _ACTIVE["policy"]


def rule(name: str):
    """A rule's value for the active report: the build's, from marts.rules_in_effect (refused in
    one sentence when no report is being written)."""
    rules = _ACTIVE.get("rules")
    if not isinstance(rules, RulesInEffect):
        raise UsageError(_NOT_ACTIVE)
    return rules.value(name)


def small_cell_limit() -> int:
    return policy().limit


def is_small(n: int | None, limit: int | None = None) -> bool:
    """A count of 1 to limit-1; an empty cell (0) discloses nobody and is shown."""
    limit = small_cell_limit() if limit is None else limit
    return n is not None and 0 < n < limit


def count_text(n: int | None, limit: int | None = None) -> str:
    """A count as the report prints it: thousands separated, or `suppressed` for a small one."""
    if n is None:
        return ""
    return SUPPRESSED if is_small(n, limit) else f"{int(n):,}"


def shown_count(n: int | None, limit: int | None = None) -> int | None:
    """The count for a CSV or headline: None for a small count."""
    return None if n is None or is_small(n, limit) else int(n)


@dataclass(frozen=True)
class Suppressions:
    """How many printable cells a table hid, and why."""

    primary: int
    secondary: int
    hidden: frozenset = frozenset()    # the release's keys that are hidden (printable or not)
    release: Release | None = None     # the protected release (for the whole-release check)


# Table 1's cells that count patients among those with magnesium (the flags are empty without a
# value): each is at most the patients with magnesium of its column.
MAGNESIUM = ("mg_mmol_l", "present")
MAGNESIUM_SUBSETS = (("mg_deficient", "True"), ("mg_below_op_cutoff", "True"))


def protect_table1(table, sums: Mapping[str, tuple[int, Sequence[str]]] | None = None,
                   secondary: bool = True, patient_years: float | None = None,
                   withhold: Sequence[tuple] = (), pairs: Mapping[str, int] | None = None) -> Suppressions:
    """Hide Table 1's small cells and every cell that would give one away, in place.

    Cells: each group's patients, each continuous variable's patients with a value, each shown
    level of a categorical variable; the groups (and the patients in no group) sum to `all`, and
    within a group each variable's cells and its unprinted rest sum to the group's patients. A
    hidden continuous cell hides its statistic; a hidden patient count hides nothing else by
    itself (the audit decides). `sums` names counts printed elsewhere that are sums of Table 1's
    patients with magnesium over some groups (the ROC's patients and outcomes): name -> (count,
    groups); each is a cell ("roc", name) of the same release. `patient_years` is the most
    patient-years with magnesium the published prevalence tables allow: a cap on the patients
    with magnesium (each of them is one of those patient-years). `withhold` names (variable,
    level) rows to hide in every column whatever their size, with the ROC's counts (the
    report does when Table 1 would raise the attacker's floor on the patient-years). `pairs`
    are printed counts of patients with magnesium and another value (the correlations' n): at
    most the patients with magnesium.
    """
    groups = [g for g in table.groups if g != "all"]
    rows = {row.variable: row for row in table.rows}
    patients = {g: int(rows[PATIENTS].values[g]["n"]) for g in table.groups}
    variables: dict[str, dict[str, dict[str, int]]] = {}
    where: dict[tuple, object] = {}
    for row in table.rows:
        if row.variable == PATIENTS or not row.values or all(not v for v in row.values.values()):
            continue
        if "=" in row.variable:
            variable, level = row.variable.split("=", 1)
            counts = {g: int((row.values.get(g) or {}).get("count", 0)) for g in table.groups}
        else:
            variable, level = row.variable, "present"
            counts = {g: int((row.values.get(g) or {}).get("n", 0)) for g in table.groups}
        variables.setdefault(variable, {})[level] = counts
        where[(variable, level)] = row
    extra = tuple((("roc", name), int(count), [("mg_mmol_l", "present", g) for g in members if g in groups])
                  for name, (count, members) in (sums or {}).items()) if "mg_mmol_l" in variables else ()
    subsets = tuple((small, MAGNESIUM) for small in MAGNESIUM_SUBSETS if small[0] in variables) \
        if MAGNESIUM[0] in variables else ()
    caps = ((("prevalence", "patient_years"), patient_years, MAGNESIUM + ("all",)),) \
        if MAGNESIUM[0] in variables and patient_years is not None and math.isfinite(patient_years) else ()
    floors = tuple((("pairs", name), int(n), MAGNESIUM + ("all",)) for name, n in (pairs or {}).items()
                   if n is not None) if MAGNESIUM[0] in variables else ()
    release = grouped_release(groups, "all", patients, variables, extra, subsets, caps, floors)
    for key, publishable in zip(release.keys, release.publishable):
        if publishable and (key[:2] in withhold or (key[0] == "roc" and withhold)):
            release.hide(key, SECONDARY)   # hidden to protect another table's cells
    protect_release(release, policy(), secondary)
    tally = {"primary": 0, "secondary": 0}
    for key in release.suppressed():
        tally[release.reason[release.index(key)]] += 1
        if key[0] == PATIENTS:
            row, group = rows[PATIENTS], key[1]
        elif key[0] in ("roc", "prevalence", "pairs"):
            continue
        else:
            row, group = where[(key[0], key[1])], key[2]
        row.cells[group], row.values[group] = SUPPRESSED, None
    for row in table.rows:   # a percentage of a hidden group size would give the size away
        if "=" in row.variable:
            for group in table.groups:
                if rows[PATIENTS].values[group] is None and row.values.get(group):
                    row.values[group].pop("percent", None)
                    row.cells[group] = row.cells[group].split(" (")[0]
    return Suppressions(tally["primary"], tally["secondary"],
                        frozenset(k for k, h in zip(release.keys, release.hidden) if h), release)


# What Table 1 withholds when its magnesium counts would narrow the prevalence tables' hidden
# patient-years (the patients with magnesium, its flags, and with them the ROC's counts).
WITHHELD = (MAGNESIUM,) + MAGNESIUM_SUBSETS


@dataclass(frozen=True)
class LinkedTable1:
    table: object
    tally: Suppressions
    withheld: bool      # the magnesium counts were withheld for the prevalence tables' sake


def protect_table1_in_release(make_table: Callable[[], object], sums, pairs: Mapping[str, int] | None,
                              prevalence: tuple[list[dict], list[dict], list[dict]] | None,
                              secondary: bool = True) -> LinkedTable1:
    """Table 1 protected as part of the whole release, not on its own.

    The prevalence tables (`prevalence`: the three marts as the snapshot publishes them) count
    patient-years, Table 1 patients; the link between them is that the patients with magnesium
    at their latest scan are at most the patient-years with magnesium. From the prevalence side
    that caps Table 1's count at the most patient-years the published marts allow, which
    `protect_table1` includes in its audit. From Table 1's side it sets a floor under the
    patient-years (the least the protected Table 1 allows for its count): when that floor is
    above the least the marts allow on their own, the marts' hidden cells are audited again
    with it, as the attacker would; if one of them would be narrowed below the policy (the
    marts are already published in the snapshot and cannot change), Table 1 withholds its
    magnesium counts and the caller the correlations' counts, so nothing in Table 1 says more
    than "at least none". The split is exact: the two tables share that one sum, so the joint
    constraints projected onto each table are its own constraints plus one bound.
    """
    low, high = patient_years(*prevalence) if prevalence is not None else (None, None)
    table = make_table()
    tally = protect_table1(table, sums, secondary, patient_years=high, pairs=pairs)
    total = MAGNESIUM + ("all",)
    if not secondary or low is None or tally.release is None or total not in tally.release:
        return LinkedTable1(table, tally, False)
    floor = extent(tally.release, total).low
    if floor <= low + 1e-6 or attack_prevalence(*prevalence, policy(), at_least=floor).passed:
        return LinkedTable1(table, tally, False)
    table = make_table()
    tally = protect_table1(table, sums, secondary, patient_years=high, withhold=WITHHELD)
    if extent(tally.release, total).low > low + 1e-6:   # a bug guard: withheld, nothing sets a floor
        raise RuntimeError("Table 1 still pins its patients with magnesium after withholding them")
    return LinkedTable1(table, tally, True)


def protect_bins(bins: dict[tuple, int], total: int, secondary: bool = True) -> tuple[set[tuple], Suppressions]:
    """The bins of a picture to leave blank so no bin of 1..limit-1 can be told from the total.

    When no pattern protects them (few patients: every bin hidden still pins them within the
    printed total), the whole picture is withheld: `hidden` holds every bin and the returned
    `Suppressions.hidden` is {"all"}."""
    release = binned_release(bins, total)
    try:
        protect_release(release, policy(), secondary)
    except RuntimeError:   # too few patients for any pattern while the total is printed: no picture
        return set(bins), Suppressions(0, 0, frozenset({"all"}))
    hidden = {key[1:] for key in release.suppressed() if key[0] == "bin"}
    reasons = [release.reason[release.index(key)] for key in release.suppressed()]
    return hidden, Suppressions(reasons.count("primary"), reasons.count("secondary"))
