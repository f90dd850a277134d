"""The report's own releases as linked tables: Table 1 (groups x variables) and a binned picture.

Table 1 has one column per group and an `all` column; each variable splits a group's patients
into cells (a categorical variable's levels, a continuous variable's patients with and without
a value). Some cells are printed, the rest (a level not shown, the missing) follow from the
group's patient count by subtraction, so they are cells the attacker can solve for even though
they are never printed; they are protected like the others but never chosen as a secondary.
"""
from __future__ import annotations

from collections.abc import Mapping

from .linked import Audit, Release, audit, primary, protect
from .policy import Policy

PATIENTS = "n"
REST = "__rest__"


def grouped_release(groups: list[str], total: str, patients: Mapping[str, int],
                    variables: Mapping[str, Mapping[str, Mapping[str, int]]], extra: tuple = ()) -> Release:
    """A release of group columns (plus `total`, their sum) split by each variable's levels.

    `variables[var][level][group]` is a printed count; whatever a group's printed levels leave
    of its patients is the variable's unprinted rest. `extra` holds (key, value, parts) for
    further printed counts that are sums of cells, e.g. a ROC's patients with the outcome.
    """
    release = Release(systems=("count",))
    columns = list(groups) + [total]
    for group in columns:
        release.add((PATIENTS, group), [patients[group]])
    for variable, levels in variables.items():
        for group in columns:
            shown = 0
            for level, counts in levels.items():
                release.add((variable, level, group), [counts[group]])
                shown += counts[group]
            release.add((variable, REST, group), [patients[group] - shown], publishable=False)
            release.relate((PATIENTS, group), [(variable, level, group) for level in list(levels) + [REST]])
        for level in list(levels) + [REST]:
            release.relate((variable, level, total), [(variable, level, group) for group in groups])
    release.relate((PATIENTS, total), [(PATIENTS, group) for group in groups])
    for key, value, parts in extra:
        release.add(key, [value])
        release.relate(key, parts)
    return release


def binned_release(bins: Mapping[tuple, int], total: int) -> Release:
    """Bins of a picture that sum to a printed total (e.g. a heat map's cells)."""
    release = Release(systems=("count",))
    release.add(("total",), [total])
    for key, count in bins.items():
        release.add(("bin",) + tuple(key), [count], nonempty=True)   # a listed bin is not empty
    release.relate(("total",), [("bin",) + tuple(key) for key in bins])
    return release


def protect_release(release: Release, policy: Policy, secondary: bool = True) -> Audit:
    """Primary then secondary suppression; raises if no pattern protects every hidden count.
    (`secondary=False` only for the attacker's own test.)"""
    primary(release, policy)
    result = protect(release, policy) if secondary else audit(release, policy)
    if secondary and not result.passed:
        raise RuntimeError("disclosure control found no suppression pattern for the report's tables")
    return result
