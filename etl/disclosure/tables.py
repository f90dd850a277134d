"""The report's own releases as linked tables: Table 1 (groups x variables) and a binned picture.

Table 1 has one column per group and an `all` column; each variable splits a group's patients
into cells (a categorical variable's levels, a continuous variable's patients with and without
a value). Some cells are printed, the rest (a level not shown, the missing) follow from the
group's patient count by subtraction, so they are cells the attacker can solve for even though
they are never printed; they are protected like the others but never chosen as a secondary. Likewise the patients of
`all` who are in no group (no category could be given): an unprinted column the attacker can
only bound, since nothing says it is empty.
"""
from __future__ import annotations

from collections.abc import Mapping

from .linked import Audit, Release, audit, primary, protect
from .policy import Policy

PATIENTS = "n"
REST = "__rest__"
UNGROUPED = "__ungrouped__"


def grouped_release(groups: list[str], total: str, patients: Mapping[str, int],
                    variables: Mapping[str, Mapping[str, Mapping[str, int]]], extra: tuple = (),
                    subsets: tuple = (), caps: tuple = (), floors: tuple = ()) -> Release:
    """A release of group columns (plus `total`: their sum and the ungrouped patients) split by
    each variable's levels.

    `variables[var][level][group]` is a printed count; whatever a group's printed levels leave
    of its patients is the variable's unprinted rest, and whatever the groups leave of `total`
    is the unprinted UNGROUPED column. `extra` holds (key, value, parts) for further printed
    counts that are sums of cells, e.g. a ROC's patients with the outcome. `subsets` holds
    ((variable, level), (variable, level)) pairs where the first cell is at most the second in
    every column (the magnesium-deficient patients are among those with magnesium). `caps` holds
    (key, value, cell) for counts of another population published elsewhere that bound a cell
    from above (the patient-years with magnesium bound the patients with magnesium), `floors`
    (key, value, cell) for printed counts of a subset of a cell's patients (a correlation's
    pairs are among the patients with magnesium).
    """
    release = Release(systems=("count",))
    columns = list(groups) + [total]
    # with every patient in a group the publisher's model leaves the UNGROUPED column out: it
    # then assumes the attacker knows the column is empty (they do not), which only narrows
    # its intervals, so its audit stays on the safe side
    ungrouped_patients = patients[total] - sum(patients[g] for g in groups)
    summed = list(groups) + ([UNGROUPED] if ungrouped_patients else [])
    for group in columns:
        release.add((PATIENTS, group), [patients[group]])
    if ungrouped_patients:
        release.add((PATIENTS, UNGROUPED), [ungrouped_patients], publishable=False)
    for variable, levels in variables.items():
        ungrouped = {level: counts[total] - sum(counts[g] for g in groups) for level, counts in levels.items()}
        for group in columns + summed[len(groups):]:
            shown = 0
            for level, counts in levels.items():
                count = ungrouped[level] if group == UNGROUPED else counts[group]
                release.add((variable, level, group), [count], publishable=group != UNGROUPED)
                shown += count
            people = release.values[release.index((PATIENTS, group))][0]
            release.add((variable, REST, group), [people - shown], publishable=False)
            release.relate((PATIENTS, group), [(variable, level, group) for level in list(levels) + [REST]])
        for level in list(levels) + [REST]:
            release.relate((variable, level, total), [(variable, level, group) for group in summed])
    release.relate((PATIENTS, total), [(PATIENTS, group) for group in summed])
    for key, value, parts in extra:
        release.add(key, [value])
        release.relate(key, parts)
    for (small, large) in subsets:
        for group in columns + summed[len(groups):]:
            release.relate_at_most(small + (group,), [large + (group,)])
    for key, value, cell in caps:
        release.add(key, [value], suppressible=False)   # another table's figure: not ours to hide
        release.relate_at_most(cell, [key])
    for key, value, cell in floors:
        release.add(key, [value], suppressible=False)
        release.relate_at_most(key, [cell])
    return release


def binned_release(bins: Mapping[tuple, int], total: int) -> Release:
    """Bins of a picture that sum to a printed total (e.g. a heat map's cells)."""
    release = Release(systems=("count",))
    release.add(("total",), [total], suppressible=False)   # printed elsewhere (e.g. the Spearman table)
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
