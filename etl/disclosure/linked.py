"""Linked tables, the attacker's linear programme over them, and secondary suppression.

A release is a set of cells tied by additive relations (a year's total is the sum of that
year's cells; a margin is the sum of its row). Each cell carries one or more independent
counts ("systems": a prevalence cell has the deficient and the not-deficient patients; its
denominator is their sum, so it is derived, not a system of its own). The attacker knows
every shown cell and every relation and that counts are non-negative; for each hidden cell
they can compute the feasible interval of each count by linear programming (tau-ARGUS's and
sdcTable's audit). `audit` does exactly that; `protect` adds secondary suppressions, the
smallest useful cell first, until the audit passes (a greedy, audit-driven variant of the
hypercube/LP methods of tau-ARGUS: each failing bound's LP dual names the shown cells that
pin it, and one of them is hidden).

The LPs are solved with HiGHS through `highspy`, which keeps the model between objectives so
one warm-started solve per bound costs about a millisecond. A few solves per component with
aggregate objectives give feasible points that prove most intervals wide before any per-cell
solve is needed.
"""
from __future__ import annotations

import math
import os
import sys
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field

import highspy
import numpy as np
from scipy.sparse import csc_matrix
from scipy.sparse.csgraph import connected_components

from .policy import PRIMARY, SECONDARY, Policy

_EPS = 1e-6
_INF = highspy.kHighsInf


def quiet_highs() -> highspy.Highs:
    """A HiGHS solver that prints nothing. Its first construction in a process writes a banner to
    the process's standard output (at C level, before any option can be set), which would land in
    the middle of `osteoreg report`'s console lines; the file descriptor is pointed at /dev/null
    for that moment only."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 1)
            highs = highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    highs.setOptionValue("output_flag", False)
    return highs


@dataclass
class Release:
    """Cells, their counts per system, which are hidden, and the relations between them."""

    systems: tuple[str, ...]
    derived: dict[str, tuple[str, ...]] = field(default_factory=dict)   # name -> the systems it sums
    keys: list[Hashable] = field(default_factory=list)
    values: list[list[float]] = field(default_factory=list)             # per cell, per system; NaN unknown
    hidden: list[bool] = field(default_factory=list)
    publishable: list[bool] = field(default_factory=list)               # False: derivable, never printed
    nonempty: list[bool] = field(default_factory=list)                  # known to hold at least one
    suppressible: list[bool] = field(default_factory=list)              # False: printed elsewhere too
    reason: list[str | None] = field(default_factory=list)
    relations: list[tuple[int, tuple[int, ...]]] = field(default_factory=list)
    at_most: set[int] = field(default_factory=set)    # relations that are total <= sum(parts)
    _index: dict[Hashable, int] = field(default_factory=dict)

    def add(self, key: Hashable, counts: Sequence[float | None] | None, *, hidden: bool = False,
            publishable: bool = True, reason: str | None = None, nonempty: bool = False,
            suppressible: bool = True) -> int:
        """A cell; `counts` None (or None entries) means the publisher does not know or show them."""
        if key in self._index:
            raise ValueError(f"cell {key!r} added twice")
        row = [math.nan if counts is None or c is None else float(c) for c in (counts or [None] * len(self.systems))]
        self._index[key] = len(self.keys)
        self.keys.append(key)
        self.values.append(row)
        unknown = any(math.isnan(v) for v in row)
        self.hidden.append(hidden or unknown or not publishable)
        self.publishable.append(publishable)
        self.nonempty.append(nonempty)
        self.suppressible.append(suppressible)
        self.reason.append(reason if reason else (PRIMARY if (hidden or unknown) and publishable else None))
        return self._index[key]

    def relate(self, total: Hashable, parts: Iterable[Hashable]) -> None:
        """total = sum(parts); keys not in the release are cells known to be empty."""
        if total not in self._index:
            return
        indices = tuple(self._index[p] for p in parts if p in self._index)
        self.relations.append((self._index[total], indices))

    def relate_at_most(self, total: Hashable, parts: Iterable[Hashable]) -> None:
        """total <= sum(parts): what links counts of different populations (patients with
        magnesium at their latest scan are at most the patient-years with magnesium), or a subset
        to its set (deficient patients to those with a value)."""
        before = len(self.relations)
        self.relate(total, parts)
        if len(self.relations) > before:
            self.at_most.add(before)

    def index(self, key: Hashable) -> int:
        return self._index[key]

    def __contains__(self, key: Hashable) -> bool:
        return key in self._index

    def hide(self, key: Hashable, reason: str = SECONDARY) -> None:
        i = self._index[key]
        self.hidden[i], self.reason[i] = True, reason

    def suppressed(self, reason: str | None = None) -> list[Hashable]:
        """The printable cells that are hidden (with the given reason)."""
        return [k for k, h, p, r in zip(self.keys, self.hidden, self.publishable, self.reason)
                if h and p and (reason is None or r == reason)]

    def count_names(self) -> tuple[str, ...]:
        return self.systems + tuple(self.derived)

    def total(self, i: int) -> float:
        return float(sum(self.values[i]))


@dataclass(frozen=True)
class Interval:
    low: float
    high: float


@dataclass
class CellAudit:
    key: Hashable
    intervals: dict[str, Interval]           # count name -> feasible interval
    protected: bool
    pinned_by: tuple[Hashable, ...] = ()     # shown cells whose values pin a failing bound
    wide: bool = False                       # protected by width alone (stays so as more is hidden)


@dataclass
class Audit:
    cells: dict[Hashable, CellAudit]
    solves: int

    @property
    def failing(self) -> list[CellAudit]:
        return [c for c in self.cells.values() if not c.protected]

    @property
    def passed(self) -> bool:
        return not self.failing


class _System:
    """One count system's LP over the hidden cells of one connected component."""

    def __init__(self, release: Release, system: int, cells: list[int], rows: list[int]):
        self.release, self.system, self.cells = release, system, cells
        self.rows = rows
        position = {cell: j for j, cell in enumerate(cells)}
        data, row_index, col_index, rhs = [], [], [], []
        lower_open = np.asarray([relation in release.at_most for relation in rows], dtype=bool)
        for r, relation in enumerate(rows):
            total, parts = release.relations[relation]
            known = 0.0
            for cell, coefficient in ((total, 1.0),) + tuple((p, -1.0) for p in parts):
                if release.hidden[cell]:
                    data.append(coefficient)
                    row_index.append(r)
                    col_index.append(position[cell])
                else:
                    known += coefficient * release.values[cell][system]
            rhs.append(-known)
        matrix = csc_matrix((data, (row_index, col_index)), shape=(len(rows), len(cells)))
        matrix.sum_duplicates()
        self.highs = quiet_highs()
        self.highs.setOptionValue("presolve", "off")   # keep the basis between objectives (warm start):
        # only the cost changes between solves, so the last basis stays primal feasible and
        # primal simplex goes on from it (dual simplex restarts, some 10 times slower here)
        self.highs.setOptionValue("simplex_strategy", 4)
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = len(cells), len(rows)
        lp.col_cost_ = np.zeros(len(cells))
        # a cell known to be non-empty has at least 1 in its only system (several: see `audit`)
        single = len(release.systems) == 1
        self.lower = np.asarray([1.0 if single and release.nonempty[c] else 0.0 for c in cells])
        lp.col_lower_ = self.lower.copy()
        lp.col_upper_ = np.full(len(cells), _INF)
        upper = np.asarray(rhs, dtype=float)   # total - sum(parts) = rhs, or <= rhs
        lp.row_upper_ = upper
        lp.row_lower_ = np.where(lower_open, -_INF, upper)
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = matrix.indptr
        lp.a_matrix_.index_ = matrix.indices
        lp.a_matrix_.value_ = matrix.data
        self.highs.passModel(lp)
        self.solves = 0
        self.low = np.full(len(cells), np.inf)    # the lowest and highest value seen in a feasible point
        self.high = np.full(len(cells), -np.inf)
        self.columns = np.arange(len(cells), dtype=np.int32)

    def solve(self, cost: np.ndarray) -> tuple[str, float | None]:
        """Minimise cost . x; ('optimal', value) or ('unbounded', None). Records the point."""
        self.highs.changeColsCost(len(self.cells), self.columns, cost.astype(float))
        self.highs.run()
        self.solves += 1
        status = self.highs.getModelStatus()
        if status in (highspy.HighsModelStatus.kUnbounded, highspy.HighsModelStatus.kUnboundedOrInfeasible):
            return "unbounded", None
        if status != highspy.HighsModelStatus.kOptimal:
            raise RuntimeError(f"disclosure audit LP ended {self.highs.modelStatusToString(status)}")
        x = np.asarray(self.highs.getSolution().col_value)
        np.minimum(self.low, x, out=self.low)
        np.maximum(self.high, x, out=self.high)
        return "optimal", float(self.highs.getInfo().objective_function_value)

    def at_least_one(self, j: int) -> None:
        """Cell j's count is at least 1 (deduced from the other systems; see `_deduce_nonempty`);
        the points seen so far may break that, so they are forgotten."""
        self.highs.changeColsBounds(1, np.asarray([j], dtype=np.int32), np.asarray([1.0]), np.asarray([_INF]))
        self.lower[j] = 1.0
        self.low[:] = np.inf
        self.high[:] = -np.inf

    def row_duals(self) -> np.ndarray:
        return np.asarray(self.highs.getSolution().row_dual)

    def explore(self, rounds: int = 4) -> None:
        """Feasible points from aggregate objectives: all cells up, all down, random signs."""
        n = len(self.cells)
        generator = np.random.default_rng(len(self.cells))
        costs = [np.ones(n)]
        costs += [generator.choice([-1.0, 1.0], size=n) for _ in range(rounds)]
        for cost in costs:
            status, _ = self.solve(cost)
            if status == "unbounded":   # some cells can grow without bound: push each alone below
                break

    def bound(self, j: int, upper: bool) -> tuple[float, tuple[int, ...]]:
        """The exact lower or upper bound of cell j and the shown cells that pin it."""
        cost = np.zeros(len(self.cells))
        cost[j] = -1.0 if upper else 1.0
        status, value = self.solve(cost)
        if status == "unbounded":
            return (math.inf if upper else 0.0), ()
        bound = -value if upper else value
        duals = self.row_duals()
        pinning = set()
        for r, dual in enumerate(duals):
            if abs(dual) > _EPS:
                total, parts = self.release.relations[self.rows[r]]
                pinning.update(c for c in (total,) + parts if not self.release.hidden[c])
        return bound, tuple(sorted(pinning))


def _deduce_nonempty(release: Release, systems: list[_System], cells: list[int]) -> None:
    """A non-empty cell of several systems has at least 1 in one of them: when every other
    system's count of it cannot reach 1, this one's is at least 1. The attacker's single LP
    holds the sum constraint itself; each system's LP here gets the bounds it implies (until
    nothing changes), so the audit is not more optimistic than the attacker (a cell with no
    deficient patient, for one, has at least one who is not)."""
    if len(systems) < 2:
        return
    nonempty = [j for j, cell in enumerate(cells) if release.nonempty[cell]]
    changed = True
    while changed:
        changed = False
        for j in nonempty:
            for s, system in enumerate(systems):
                if system.lower[j] >= 1.0:
                    continue
                others = [o for o in systems if o is not system]
                if all(o.lower[j] < 1.0 and (o.high[j] < 1.0 - _EPS and o.bound(j, upper=True)[0] < 1.0 - _EPS)
                       for o in others):
                    system.at_least_one(j)
                    system.explore()
                    changed = True


def _components(release: Release) -> list[tuple[list[int], list[int]]]:
    """(hidden cells, relations) of each connected group of hidden cells."""
    hidden = [i for i, h in enumerate(release.hidden) if h]
    if not hidden:
        return []
    position = {cell: j for j, cell in enumerate(hidden)}
    rows, cols, relations = [], [], []
    for r, (total, parts) in enumerate(release.relations):
        members = [position[c] for c in (total,) + parts if release.hidden[c]]
        if members:
            relations.append(r)
            rows += [len(relations) - 1] * len(members)
            cols += members
    n = len(hidden)
    incidence = csc_matrix((np.ones(len(rows)), (rows, cols)), shape=(max(len(relations), 1), n))
    graph = (incidence.T @ incidence).tocsr() if relations else csc_matrix((n, n))
    count, labels = connected_components(graph, directed=False)
    groups: list[tuple[list[int], list[int]]] = [([], []) for _ in range(count)]
    for j, label in enumerate(labels):
        groups[label][0].append(hidden[j])
    for r in relations:
        total, parts = release.relations[r]
        first = next(c for c in (total,) + parts if release.hidden[c])
        groups[labels[position[first]]][1].append(r)
    return groups


def audit(release: Release, policy: Policy, proven: dict | None = None, stop_after: int | None = None) -> Audit:
    """Every hidden cell's feasible interval per count, and whether the policy holds for it.

    `proven` (key -> CellAudit) holds cells an earlier audit of the same release proved wide:
    hiding more cells only widens intervals, so a width that protected a cell still does, and
    they are not solved again. `stop_after` ends the audit once that many cells fail (the
    secondary suppression fixes a few at a time; its final audit is always complete).
    """
    proven = proven or {}
    failing = 0
    results: dict[Hashable, CellAudit] = {}
    solves = 0
    names = release.systems
    for cells, rows in _components(release):
        if stop_after is not None and failing >= stop_after:
            break
        if not rows:   # hidden cells in no relation with a shown cell: anything from 0 up
            for cell in cells:
                results[release.keys[cell]] = audited = CellAudit(
                    release.keys[cell], {name: Interval(0.0, math.inf) for name in release.count_names()}, True)
            continue
        systems = [_System(release, s, cells, rows) for s in range(len(names))]
        for system in systems:
            system.explore()
        _deduce_nonempty(release, systems, cells)
        exact: dict[tuple[int, int, bool], tuple[float, tuple[int, ...]]] = {}

        def interval(s: int, j: int, need_exact: bool) -> Interval:
            system = systems[s]
            if not need_exact:
                return Interval(float(system.low[j]), float(system.high[j]))
            for upper in (True, False):
                if (s, j, upper) not in exact:
                    exact[(s, j, upper)] = system.bound(j, upper)
            return Interval(exact[(s, j, False)][0], exact[(s, j, True)][0])

        for j, cell in enumerate(cells):
            if stop_after is not None and failing >= stop_after:
                break
            if release.keys[cell] in proven:
                results[release.keys[cell]] = proven[release.keys[cell]]
                continue
            def counts(need_exact: set[int]) -> dict[str, Interval]:
                got = {name: interval(s, j, s in need_exact) for s, name in enumerate(names)}
                for name, summed in release.derived.items():
                    parts = [got[p] for p in summed]
                    low = sum(p.low for p in parts)
                    got[name] = Interval(max(low, 1.0) if release.nonempty[cell] else low, sum(p.high for p in parts))
                return got

            def ok(found: dict[str, Interval], exact_bounds: bool) -> bool:
                # points seen so far give an inner interval: only its width proves protection;
                # "at or above the limit" and "exactly 0" need the exact bounds
                return all(True if not math.isfinite(i.high) else
                           policy.protects(math.ceil(i.low - _EPS), math.floor(i.high + _EPS)) if exact_bounds
                           else math.floor(i.high + _EPS) - math.ceil(i.low - _EPS) >= policy.protection_width
                           for i in found.values())

            found = counts(set())
            protected = ok(found, False)
            wide = protected
            if not protected:   # the points seen so far do not prove it: solve its bounds exactly
                found = counts(set(range(len(names))))
                protected = ok(found, True)
            pinned: set[int] = set()
            if not protected:
                for s in range(len(names)):
                    for upper in (True, False):
                        pinned.update(exact.get((s, j, upper), (0, ()))[1])
            results[release.keys[cell]] = audited = CellAudit(
                release.keys[cell],
                {name: Interval(math.ceil(i.low - _EPS), math.floor(i.high + _EPS) if math.isfinite(i.high)
                                else math.inf) for name, i in found.items()},
                protected, tuple(release.keys[c] for c in sorted(pinned)))
            if wide:
                audited.wide = True
            failing += not protected
        solves += sum(system.solves for system in systems)
    return Audit(results, solves)


def extent(release: Release, key: Hashable, system: int = 0) -> Interval:
    """The lowest and highest value of one cell's count the release allows an attacker."""
    i = release.index(key)
    if not release.hidden[i]:
        value = release.values[i][system]
        return Interval(value, value)
    for cells, rows in _components(release):
        if i in cells:
            if not rows:
                return Interval(0.0, math.inf)
            lp = _System(release, system, cells, rows)
            j = cells.index(i)
            return Interval(lp.bound(j, upper=False)[0], lp.bound(j, upper=True)[0])
    raise AssertionError(f"hidden cell {key!r} is in no component")


def primary(release: Release, policy: Policy) -> int:
    """Hide every printable cell with a count from 1 to limit - 1 (any system or derived count)."""
    hidden = 0
    for i, row in enumerate(release.values):
        if release.hidden[i] or any(math.isnan(v) for v in row):
            continue
        counts = list(row) + [sum(row[release.systems.index(p)] for p in parts) for parts in release.derived.values()]
        if any(policy.is_small(c) for c in counts):
            release.hidden[i], release.reason[i] = True, PRIMARY
            hidden += 1
    return hidden


def protect(release: Release, policy: Policy, max_rounds: int = 200) -> Audit:
    """Add secondary suppressions until no hidden count can be narrowed below the policy.

    Each round audits the release; for each failing cell one shown cell that pins it (named by
    the LP's duals) is hidden, preferring cells whose counts can absorb a shift of the
    protection width in every system, then the smallest. A cell whose pinning cells are all
    hidden already takes the smallest shown cell of a relation it is in.
    """
    proven: dict = {}
    for _ in range(max_rounds):
        result = audit(release, policy, proven, stop_after=16)
        proven = {key: cell for key, cell in result.cells.items() if cell.wide}
        if result.passed:
            return result
        touched: set[int] = set()
        for failing in sorted(result.failing, key=lambda c: repr(c.key)):
            cell = release.index(failing.key)
            near = _related(release, cell)
            if near & touched:
                continue
            def open_(c: int) -> bool:
                return release.publishable[c] and release.suppressible[c] and not release.hidden[c]

            candidates = [c for c in (release.index(k) for k in failing.pinned_by) if open_(c)]
            if not candidates:
                candidates = [c for c in near if open_(c)]
            if not candidates:
                candidates = [c for c in range(len(release.keys)) if open_(c)]
            if not candidates:
                continue
            chosen = min(candidates, key=lambda c: (
                not all(v >= policy.protection_width for v in release.values[c]), release.total(c), repr(release.keys[c])))
            release.hidden[chosen], release.reason[chosen] = True, SECONDARY
            touched |= _related(release, chosen) | {chosen}
        if not touched:
            return result   # nothing left to hide: the caller sees the failing cells
    return audit(release, policy)


def _related(release: Release, cell: int) -> set[int]:
    near: set[int] = set()
    for total, parts in release.relations:
        members = (total,) + parts
        if cell in members:
            near.update(members)
    near.discard(cell)
    return near
