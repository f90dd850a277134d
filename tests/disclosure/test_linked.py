"""The disclosure engine on hand-made releases: the attacker's intervals, primary and secondary
suppression, and the worst case of one small cell per year (checked by the independent
attacker of `etl.disclosure.audit`, which writes its own equations from the published rows)."""
from __future__ import annotations

import itertools
import math

import pytest

from etl.disclosure.audit import attack_prevalence
from etl.disclosure.linked import Release, audit, primary, protect
from etl.disclosure.policy import PRIMARY, SECONDARY, Policy, policy_from
from etl.disclosure.prevalence import prevalence_release, protect_prevalence

POLICY = Policy(limit=11, protection_width=11)


def _two_way(values: dict[tuple[str, int], int]) -> Release:
    """A rows x columns table with both margins and the grand total."""
    release = Release(systems=("count",))
    rows = sorted({r for r, _ in values})
    cols = sorted({c for _, c in values})
    for key, value in values.items():
        release.add(key, [value])
    for r in rows:
        release.add((r, "all"), [sum(v for (rr, _), v in values.items() if rr == r)])
        release.relate((r, "all"), [(r, c) for c in cols])
    for c in cols:
        release.add(("all", c), [sum(v for (_, cc), v in values.items() if cc == c)])
        release.relate(("all", c), [(r, c) for r in rows])
    release.add(("all", "all"), [sum(values.values())])
    release.relate(("all", "all"), [(r, "all") for r in rows])
    release.relate(("all", "all"), [("all", c) for c in cols])
    return release


TABLE = {("a", 1): 3, ("a", 2): 40, ("a", 3): 50, ("b", 1): 30, ("b", 2): 25, ("b", 3): 60}


def test_one_hidden_cell_is_the_margin_minus_the_rest():
    release = _two_way(TABLE)
    assert primary(release, POLICY) == 1
    result = audit(release, POLICY)
    (found,) = result.failing
    assert found.key == ("a", 1) and found.intervals["count"].low == found.intervals["count"].high == 3


def test_secondary_suppression_protects_the_small_cell_with_the_smallest_rectangle():
    release = _two_way(TABLE)
    primary(release, POLICY)
    result = protect(release, POLICY)
    assert result.passed
    assert sorted(release.suppressed(SECONDARY)) == [("a", 2), ("b", 1), ("b", 2)]
    assert release.suppressed(PRIMARY) == [("a", 1)]
    interval = result.cells[("a", 1)].intervals["count"]
    # a1 + b1 = 33, a2 + b2 = 65, a1 + a2 = 43: a1 = 33 - b1, so anything from 0 to 33
    assert interval.high - interval.low >= POLICY.protection_width and interval.low <= 3 <= interval.high


def test_zero_is_shown_and_an_interval_above_the_limit_is_safe():
    policy = Policy(limit=11, protection_width=11)
    assert policy.protects(0, 0) and policy.protects(12, 14) and policy.protects(0, 11)
    assert not policy.protects(1, 10) and not policy.protects(3, 3) and not policy.protects(5, 15)
    assert not policy.is_small(0) and policy.is_small(1) and policy.is_small(10) and not policy.is_small(11)


def test_the_policy_reads_the_rules_and_an_empty_width_is_the_limit():
    rules = {"small_cell_limit": 20, "disclosure_protection_width": None}
    assert policy_from(rules.get) == Policy(limit=20, protection_width=20)
    rules["disclosure_protection_width"] = 5
    assert policy_from(rules.get) == Policy(limit=20, protection_width=5)


def _is_small(count: int, limit: int = POLICY.limit) -> bool:
    return 0 < count < limit


def _mart_rows(cells: dict[tuple, tuple[int, int]]):
    """The three prevalence marts from exact (n, k) cells, with the marts' primary rule, written
    here independently of dbt: a cell is hidden when n, k or n - k is 1..10."""
    def row(n, k, **keys):
        hidden = _is_small(n) or _is_small(k) or _is_small(n - k)
        return keys | {"n_assessed": None if hidden else n, "n_deficient": None if hidden else k,
                       "suppressed": hidden}

    detail = [row(n, k, year=y, sex=s, age_band=a, who_category=c) for (y, s, a, c), (n, k) in cells.items()]
    years = sorted({key[0] for key in cells})
    by_year = [row(sum(n for key, (n, _) in cells.items() if key[0] == y),
                   sum(k for key, (_, k) in cells.items() if key[0] == y), year=y) for y in years]
    grid = []
    categories = sorted({key[3] for key in cells})
    bands = sorted({key[2] for key in cells})
    for c, a in itertools.product(categories + ["all"], bands + ["all"]):
        members = [v for key, v in cells.items() if c in ("all", key[3]) and a in ("all", key[2])]
        if members:
            grid.append(row(sum(n for n, _ in members), sum(k for _, k in members), who_category=c, age_band=a))
    return detail, by_year, grid


def _publish(release: Release, rows: list[dict], table: str, keys: tuple[str, ...]) -> list[dict]:
    published = []
    for row in rows:
        key = (table,) + tuple(row[k] for k in keys)
        hidden = release.hidden[release.index(key)]
        published.append(row | ({"n_assessed": None, "n_deficient": None, "suppressed": True} if hidden else {}))
    return published


def _worst_case() -> dict[tuple, tuple[int, int]]:
    """Five years; in each, three large cells and exactly one small one (3 patients, 1 deficient)."""
    cells = {}
    for year in range(2020, 2025):
        cells[(year, "F", "60-69", "osteoporosis")] = (40, 12)
        cells[(year, "F", "70-79", "osteopenia")] = (35 + year % 3, 14)
        cells[(year, "M", "50-59", "normal")] = (30, 11)
        cells[(year, "M", "80+", "severe_osteoporosis")] = (3, 1)
    return cells


@pytest.mark.parametrize("secondary", [True, False])
def test_one_small_cell_per_year_is_recovered_only_without_secondary_suppression(secondary):
    detail, by_year, grid = _mart_rows(_worst_case())
    release = prevalence_release(detail, by_year, grid)
    outcome = protect_prevalence(release, POLICY, secondary=secondary)
    published = (_publish(release, detail, "mg_deficiency_prevalence", ("year", "sex", "age_band", "who_category")),
                 _publish(release, by_year, "mg_deficiency_prevalence_by_year", ("year",)),
                 _publish(release, grid, "mg_deficiency_by_category_age", ("who_category", "age_band")))
    attack = attack_prevalence(*published, POLICY)
    assert outcome.primary["mg_deficiency_prevalence"] == 5
    if secondary:
        assert attack.passed, attack.recovered[:3]
        assert outcome.total_secondary >= 5   # each small cell needs a partner at least
        assert outcome.total_secondary <= 12, "no more than a partner per small cell and a few margins"
    else:
        recovered = {(f.key, f.count): (f.low, f.high) for f in attack.recovered if f.table == "detail"}
        assert recovered[((2020, "M", "80+", "severe_osteoporosis"), "patients")] == (3, 3)
        assert recovered[((2024, "M", "80+", "severe_osteoporosis"), "deficient")] == (1, 1)


def test_many_small_cells_all_hidden_and_protected():
    """Few patients per year: nearly every cell is small; the margins may stay when they are safe."""
    cells = {}
    for year, (sex, band, category) in itertools.product(range(2018, 2024), itertools.product(
            ("F", "M"), ("<50", "60-69", "80+"), ("normal", "osteoporosis"))):
        n = 2 + (year + len(band) + len(category)) % 7
        cells[(year, sex, band, category)] = (n, (year + len(sex)) % 3 if n > 2 else 0)
    detail, by_year, grid = _mart_rows(cells)
    release = prevalence_release(detail, by_year, grid)
    outcome = protect_prevalence(release, POLICY)
    published = (_publish(release, detail, "mg_deficiency_prevalence", ("year", "sex", "age_band", "who_category")),
                 _publish(release, by_year, "mg_deficiency_prevalence_by_year", ("year",)),
                 _publish(release, grid, "mg_deficiency_by_category_age", ("who_category", "age_band")))
    attack = attack_prevalence(*published, POLICY)
    assert attack.passed, attack.recovered[:3]
    assert outcome.primary["mg_deficiency_prevalence"] == len(cells)
    assert all(f.high == math.inf or f.high - f.low >= POLICY.protection_width or f.low >= POLICY.limit
               or f.high == 0 for f in attack.findings)
