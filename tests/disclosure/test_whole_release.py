"""Whole-release linkage (issue 14, point 3): tables of different populations are linked by
inequalities, and both the attacker and the protection consider them together.

Table 1 counts patients (each once, at the latest scan), the prevalence tables patient-years;
each of Table 1's patients with magnesium is one of the patient-years with magnesium, so the
first is at most the second. The engine test shows that such an inequality recovers a cell that
each table hides on its own, and that secondary suppression over both fixes it; the cohort test
runs the report's own code on a hand-made registry (one scan per patient, a small year) where the
attacker uses the link across the tables."""
from __future__ import annotations

import math

from etl.disclosure.audit import attack_prevalence, patient_years
from etl.disclosure.linked import Release, audit, extent, primary, protect
from etl.disclosure.policy import Policy
from etl.report import disclosure

from .whole_release import attack, cohort, publish_both_ways

POLICY = Policy(limit=11, protection_width=11)


def _two_populations(linked: bool) -> Release:
    """Patients with magnesium in three groups (5 of them in g1) and, published elsewhere, the
    45 patient-years with magnesium; g2 is printed elsewhere too, so it cannot be hidden."""
    release = Release(systems=("count",))
    release.add(("patients", "g1"), [5])
    release.add(("patients", "g2"), [25], suppressible=False)
    release.add(("patients", "g3"), [15])
    release.add(("patients", "all"), [45])
    release.relate(("patients", "all"), [("patients", g) for g in ("g1", "g2", "g3")])
    if linked:
        release.add(("patient_years", "all"), [45], suppressible=False)
        release.relate_at_most(("patients", "all"), [("patient_years", "all")])
    return release


def test_a_cell_hidden_in_one_table_is_recovered_through_a_link_to_another_population():
    # Table 1 on its own: g1 is small, and hiding `all` with it protects it ([0, inf) from g1's table)
    alone = _two_populations(linked=False)
    assert primary(alone, POLICY) == 1
    alone.hide(("patients", "all"))
    assert audit(alone, POLICY).passed
    # the same pattern in the whole release: patients <= 45 patient-years pins g1 to [0, 5]
    whole = _two_populations(linked=True)
    primary(whole, POLICY)
    whole.hide(("patients", "all"))
    result = audit(whole, POLICY)
    (failing,) = result.failing
    assert failing.key == ("patients", "g1")
    assert (failing.intervals["count"].low, failing.intervals["count"].high) == (0, 5)
    assert ("patient_years", "all") in failing.pinned_by   # the other table's figure pins it
    assert extent(whole, ("patients", "all")).high == 45
    # secondary suppression over the whole release hides g3 as well: g1 + g3 <= 20
    fixed = protect(whole, POLICY)
    assert fixed.passed
    assert whole.hidden[whole.index(("patients", "g3"))]
    g1 = fixed.cells[("patients", "g1")].intervals["count"]
    assert (g1.low, g1.high) == (0, 20)


def test_the_attacker_links_table1_to_the_patient_years_and_the_report_audits_that_link():
    """One scan per patient, so Table 1's 43 patients with magnesium are 43 patient-years; the
    prevalence marts, protected on their own, allow as few as 11 (their grand total is hidden)."""
    disclosure._ACTIVE["policy"] = POLICY
    try:
        frame = cohort({2019: 3, 2020: 40}, seed=3)
        with_magnesium = int(frame["mg_mmol_l"].notna().sum())
        assert with_magnesium == 43
        prevalence, rows, withheld = publish_both_ways(frame, POLICY, whole=True)
    finally:
        disclosure._ACTIVE.clear()
    low, high = patient_years(*prevalence)
    assert (low, high) == (11, math.inf)
    alone = {(f.table, f.key, f.count): (f.low, f.high) for f in attack_prevalence(*prevalence, POLICY).findings}
    whole = attack(prevalence, rows, POLICY)
    linked = {(f.table, f.key, f.count): (f.low, f.high) for f in whole.findings}
    # the hidden grand total of the patient-years: at least 11 from the marts, at least 43 with Table 1
    assert alone[("grid", ("all", "all"), "patients")] == (11, math.inf)
    assert linked[("grid", ("all", "all"), "patients")] == (with_magnesium, math.inf)
    assert {k for k in alone if alone[k] != linked[k]} == {("grid", ("all", "all"), "patients")}
    # the report's check finds the same interval (so Table 1 keeps its figures: the narrowed
    # count is a large one), and the attacker recovers nothing from the whole release
    floored = attack_prevalence(*prevalence, POLICY, at_least=with_magnesium)
    assert {(f.table, f.key, f.count): (f.low, f.high) for f in floored.findings} == {
        k: v for k, v in linked.items() if k[0] != "table1"}
    assert floored.passed
    assert not withheld
    assert whole.passed, whole.recovered[:5]
    assert any(f.table == "table1" for f in whole.findings)


def test_a_non_empty_cell_with_no_deficient_patient_has_at_least_one_who_is_not():
    """Two cells of 5 and 6 patients, none deficient, under a shown total of 11: each count of
    not-deficient patients alone could be 0 to 11 (a width of 11), but a cell of the mart is not
    empty, so with 0 deficient each holds 1 to 10, as the attacker's single LP finds. Secondary
    suppression must see that too (it hid nothing more before) and hide the total."""
    def release() -> Release:
        cells = Release(systems=("deficient", "not_deficient"), derived={"patients": ("deficient", "not_deficient")})
        cells.add(("cell", "a"), [0, 5], nonempty=True)
        cells.add(("cell", "b"), [0, 6], nonempty=True)
        cells.add(("total",), [0, 11], nonempty=True)
        cells.relate(("total",), [("cell", "a"), ("cell", "b")])
        return cells

    first = release()
    assert primary(first, POLICY) == 2
    result = audit(first, POLICY)
    a = result.cells[("cell", "a")].intervals["not_deficient"]
    assert (a.low, a.high) == (1, 10) and not result.passed
    second = release()
    primary(second, POLICY)
    assert protect(second, POLICY).passed
    assert second.hidden[second.index(("total",))]
