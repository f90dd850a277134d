"""The attacker: what can be learnt about each suppressed count from exactly what was published.

It reads the report folder (the CSVs and the numbers in the HTML's tables) and, optionally, the
snapshot's aggregate tables, never the warehouse, and writes its own equations, independently
of the publisher's description of the release: every published prevalence figure is the sum of
the year x sex x age x category cells it covers (a cell not in the mart is empty); Table 1's
columns sum to `all` and each variable's cells (with what is left unprinted) to the group's
patients; the heat map's bins sum to the patients paired in the Spearman table; the ROC's
patients with the outcome are the outcome groups' patients with magnesium. Then for each
suppressed count it solves min and max by linear programming over non-negative counts.

A release passes when every interval is protected by the policy (`Policy.protects`).
"""
from __future__ import annotations

import csv
import math
import re
from collections.abc import Hashable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import highspy
import numpy as np
from scipy.sparse import csc_matrix

from .. import terminology
from .linked import quiet_highs
from .policy import Policy
from .tables import UNGROUPED

PREVALENCE = ("year", "sex", "age_band", "who_category")
MARGIN = "all"


@dataclass(frozen=True)
class Finding:
    table: str
    key: tuple
    count: str
    low: float
    high: float
    protected: bool


@dataclass
class AttackResult:
    findings: list[Finding] = field(default_factory=list)

    @property
    def recovered(self) -> list[Finding]:
        """The counts the attacker narrowed below the policy's protection."""
        return [f for f in self.findings if not f.protected]

    @property
    def passed(self) -> bool:
        return not self.recovered


class _Equations:
    """Non-negative unknowns and linear equations; intervals of linear expressions by LP."""

    def __init__(self) -> None:
        self.index: dict[Hashable, int] = {}
        self.rows: list[tuple[dict[int, float], float]] = []
        self._highs = None

    def unknown(self, key: Hashable) -> int:
        return self.index.setdefault(key, len(self.index))

    def equal(self, terms: dict[Hashable, float], constant: float) -> None:
        """sum(coef * unknown) = constant."""
        row: dict[int, float] = {}
        for key, coef in terms.items():
            j = self.unknown(key)
            row[j] = row.get(j, 0.0) + coef
        self.rows.append((row, constant))

    def _model(self):
        if self._highs is None:
            n = len(self.index)
            data, rows, cols = [], [], []
            for r, (row, _) in enumerate(self.rows):
                for j, coef in row.items():
                    data.append(coef)
                    rows.append(r)
                    cols.append(j)
            matrix = csc_matrix((data, (rows, cols)), shape=(len(self.rows), n))
            highs = quiet_highs()
            highs.setOptionValue("presolve", "off")   # keep the basis between objectives (warm start):
            # only the cost changes between solves, so the last basis stays primal feasible and
            # primal simplex goes on from it (dual simplex restarts, some 10 times slower here)
            highs.setOptionValue("simplex_strategy", 4)
            lp = highspy.HighsLp()
            lp.num_col_, lp.num_row_ = n, len(self.rows)
            lp.col_cost_ = np.zeros(n)
            lp.col_lower_ = np.zeros(n)
            lp.col_upper_ = np.full(n, highspy.kHighsInf)
            bounds = np.asarray([constant for _, constant in self.rows], dtype=float)
            lp.row_lower_ = lp.row_upper_ = bounds
            lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
            lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = matrix.indptr, matrix.indices, matrix.data
            highs.passModel(lp)
            self._highs = highs
        return self._highs

    def interval(self, terms: dict[Hashable, float], constant: float = 0.0) -> tuple[float, float]:
        if not terms:
            return constant, constant
        highs = self._model()
        n = len(self.index)
        bounds = []
        for sense in (1.0, -1.0):
            cost = np.zeros(n)
            for key, coef in terms.items():
                cost[self.index[key]] += sense * coef
            highs.changeColsCost(n, np.arange(n, dtype=np.int32), cost)
            highs.run()
            status = highs.getModelStatus()
            if status in (highspy.HighsModelStatus.kUnbounded, highspy.HighsModelStatus.kUnboundedOrInfeasible):
                bounds.append(math.inf if sense < 0 else 0.0)
                continue
            if status != highspy.HighsModelStatus.kOptimal:
                raise RuntimeError(f"the published figures are inconsistent ({highs.modelStatusToString(status)})")
            bounds.append(sense * highs.getInfo().objective_function_value)
        low, high = bounds[0] + constant, bounds[1] + constant
        return math.ceil(low - 1e-6), (math.floor(high + 1e-6) if math.isfinite(high) else math.inf)


def _csv(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as handle:
        return [{k: (None if v == "" else v) for k, v in row.items()} for row in csv.DictReader(handle)]


def _int(value) -> int | None:
    return None if value is None else int(float(value))


def _hidden(row: dict) -> bool:
    return str(row.get("suppressed")).lower() == "true"


class _Tables(HTMLParser):
    """The text of every <td>/<th> of every table with an id, by row."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.tables: dict[str, list[list[str]]] = {}
        self._table = self._row = self._cell = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and attrs.get("id"):
            self._table = self.tables.setdefault(attrs["id"], [])
        elif tag == "tr" and self._table is not None:
            self._row = []
            self._table.append(self._row)
        elif tag in ("td", "th") and self._row is not None:
            self._cell = ""

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row.append(" ".join(self._cell.split()))
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data


def _number(text: str) -> int | None:
    match = re.fullmatch(r"[\d,]+", text.strip())
    return int(match.group(0).replace(",", "")) if match else None


Target = tuple   # (table, key, count name, (terms, constant)): a suppressed count as an expression


def _solve(eq: _Equations, targets: list[Target], policy: Policy) -> AttackResult:
    result = AttackResult()
    for _, _, _, (terms, _) in targets:
        for k in terms:
            eq.unknown(k)
    for table, key, name, (terms, constant) in targets:
        low, high = eq.interval(terms, constant)
        result.findings.append(Finding(table, key, name, low, high, policy.protects(low, high)))
    return result


def attack_prevalence(detail: list[dict], by_year: list[dict], grid: list[dict], policy: Policy,
                      at_least: float | None = None) -> AttackResult:
    """Intervals of every suppressed prevalence count, from the three published marts (and, with
    `at_least`, knowing that the patient-years are at least that many: what another table of
    the release says of them)."""
    eq = _Equations()
    targets, (terms, constant) = prevalence_model(eq, detail, by_year, grid)
    if at_least is not None:
        eq.equal({**terms, ("slack", "patient-years floor"): -1.0}, at_least - constant)
    return _solve(eq, targets, policy)


def patient_years(detail: list[dict], by_year: list[dict], grid: list[dict]) -> tuple[float, float]:
    """The fewest and most patient-years with magnesium the published prevalence marts allow (the
    sum of every cell), as the attacker computes it; the report bounds Table 1 by it."""
    eq = _Equations()
    _, total = prevalence_model(eq, detail, by_year, grid)
    for k in total[0]:
        eq.unknown(k)
    return eq.interval(*total)


def prevalence_model(eq: _Equations, detail: list[dict], by_year: list[dict], grid: list[dict]) -> tuple[list[Target], tuple]:
    """The prevalence marts' equations in `eq`; the suppressed counts as targets, and the
    expression of all patient-years (the sum of every cell's two counts)."""
    cells = {}
    for row in detail:
        key = tuple(row[k] for k in PREVALENCE)
        if _hidden(row):
            cells[key] = None
        else:
            k, n = _int(row["n_deficient"]), _int(row["n_assessed"])
            cells[key] = (k, n - k)

    def expression(members: list[tuple], system: int) -> tuple[dict, float]:
        terms, constant = {}, 0.0
        for key in members:
            if cells[key] is None:
                terms[(system, key)] = 1.0
            else:
                constant += cells[key][system]
        return terms, constant

    published = []
    for row in by_year:
        published.append(("by_year", (str(row["year"]),), row,
                          [k for k in cells if str(k[0]) == str(row["year"])]))
    for row in grid:
        c, a = row["who_category"], row["age_band"]
        published.append(("grid", (c, a), row, [k for k in cells if k[3] is not None and k[2] is not None
                                                and (c == MARGIN or k[3] == c) and (a == MARGIN or k[2] == a)]))
    for key, value in cells.items():
        if value is None:   # a row of the mart is a non-empty cell: deficient + not deficient >= 1
            eq.equal({(0, key): 1.0, (1, key): 1.0, ("slack", key): -1.0}, 1.0)
    for _, _, row, members in published:
        if _hidden(row):
            continue
        k, n = _int(row["n_deficient"]), _int(row["n_assessed"])
        for system, value in ((0, k), (1, n - k)):
            terms, constant = expression(members, system)
            eq.equal(terms, value - constant)
    def counts(members):
        pieces = [expression(members, system) for system in (0, 1)]
        return pieces + [({**pieces[0][0], **pieces[1][0]}, pieces[0][1] + pieces[1][1])]

    hidden = [("detail", key, [key]) for key, value in cells.items() if value is None]
    hidden += [(table, key, members) for table, key, row, members in published if _hidden(row)]
    targets = [(table, key, name, piece) for table, key, members in hidden
               for name, piece in zip(("deficient", "not_deficient", "patients"), counts(members))]
    return targets, counts(list(cells))[2]


def attack_report(folder: Path, policy: Policy, snapshot_conn=None) -> AttackResult:
    """Everything the report folder (and the snapshot's aggregate tables) give away."""
    folder = Path(folder)
    marts = folder / "marts"
    detail = _csv(marts / "mg_deficiency_prevalence.csv")
    by_year = _csv(marts / "mg_deficiency_prevalence_by_year.csv")
    grid = _csv(marts / "mg_deficiency_by_category_age.csv")
    if snapshot_conn is not None:   # the snapshot publishes the same marts; they must agree
        for name, rows in (("mg_deficiency_prevalence", detail), ("mg_deficiency_prevalence_by_year", by_year),
                           ("mg_deficiency_by_category_age", grid)):
            shown = snapshot_conn.execute(f"SELECT count(*) FILTER (WHERE NOT suppressed) FROM marts.{name}").fetchall()[0][0]
            if shown != sum(not _hidden(r) for r in rows):
                raise RuntimeError(f"the snapshot's {name} shows other cells than the report's CSV")
    html = _Tables((folder / "osteoreg-report.html").read_text(encoding="utf-8"))
    _check_by_year_page(html, by_year)
    return attack_release(detail, by_year, grid, _csv(folder / "table1_by_who_category.csv"), html, policy,
                          _csv(folder / "magnesium_tscore_bins.csv"))


def attack_release(detail: list[dict], by_year: list[dict], grid: list[dict], table1: list[dict], html,
                   policy: Policy, bins: list[dict]) -> AttackResult:
    """The whole release in one linear programme: the prevalence marts (patient-years), Table 1,
    the ROC's counts and the heat map (patients), and the link between the two populations:
    Table 1's patients with magnesium are at most the patient-years with magnesium (each of
    them had magnesium measured at a scan of some year, and the prevalence counts that year)."""
    eq = _Equations()
    targets, patient_year_total = prevalence_model(eq, detail, by_year, grid)
    more, with_magnesium = table1_model(eq, table1, html, bins)
    (years, years_constant), (patients, patients_constant) = patient_year_total, with_magnesium
    if (MAGNESIUM_ALL in patients or patients_constant) and (years or years_constant):
        link = {k: -v for k, v in years.items()}
        for k, v in patients.items():
            link[k] = link.get(k, 0.0) + v
        link[("slack", "patients <= patient-years")] = 1.0
        eq.equal(link, years_constant - patients_constant)
    return _solve(eq, targets + more, policy)


def _check_by_year_page(html: _Tables, by_year: list[dict]) -> None:
    """The page's trend table prints nothing the CSV does not."""
    rows = html.tables.get("prevalence-by-year", [])[1:]
    published = {str(r["year"]): r for r in by_year}
    for cells in rows:
        row = published[cells[0].split(" ")[0]]   # "2025 (partial: scans to ...)" is the year 2025
        if _hidden(row):
            if not cells[1].startswith("suppressed"):
                raise RuntimeError(f"the page shows the suppressed year {cells[0]}")
        elif _number(cells[1]) != _int(row["n_assessed"]) or _number(cells[2]) != _int(row["n_deficient"]):
            raise RuntimeError(f"the page's year {cells[0]} differs from the CSV")


def attack_table1(rows: list[dict], html: _Tables, policy: Policy, bins: list[dict]) -> AttackResult:
    """Table 1, the ROC's counts and the heat map, from the CSVs and the page."""
    eq = _Equations()
    targets, _ = table1_model(eq, rows, html, bins)
    return _solve(eq, targets, policy)


MAGNESIUM_ALL = ("mg_mmol_l", "present", MARGIN)
# Table 1's levels that count patients with a magnesium value (the flags are empty without one)
MAGNESIUM_SUBSETS = ("mg_deficient", "mg_below_op_cutoff")


def table1_model(eq: _Equations, rows: list[dict], html: _Tables, bins: list[dict]) -> tuple[list[Target], tuple]:
    """Table 1's, the ROC's and the heat map's equations in `eq`; the suppressed counts as
    targets, and the expression of Table 1's patients with magnesium."""
    groups = list(dict.fromkeys(r["category"] for r in rows))
    parts = [g for g in groups if g != MARGIN]
    variables: dict[str, dict[str, dict[str, int | None]]] = {}
    patients: dict[str, int | None] = {}
    for row in rows:
        variable, group = row["variable"], row["category"]
        if variable == "n":
            patients[group] = None if _hidden(row) else _int(row["n"])
            continue
        if row["statistic"] == "n (%)" and "=" not in variable:
            continue   # a categorical variable's heading row
        name, level = variable.split("=", 1) if "=" in variable else (variable, "present")
        value = None if _hidden(row) else _int(row["count"] if "=" in variable else row["n"])
        if value is None and not _hidden(row) and row.get("shown") == "–":
            value = 0
        variables.setdefault(name, {}).setdefault(level, {})[group] = value

    def term(key, value):
        return ({}, float(value)) if value is not None else ({key: 1.0}, 0.0)

    def add(*pieces, equals=0.0):
        terms, constant = {}, 0.0
        for sign, (t, c) in pieces:
            for k, v in t.items():
                terms[k] = terms.get(k, 0.0) + sign * v
            constant += sign * c
        eq.equal(terms, equals - constant)

    targets = []
    groups = groups + [UNGROUPED]   # the patients of `all` in no group: never printed, maybe none
    parts = parts + [UNGROUPED]
    for group in groups:
        if patients.get(group) is None:
            eq.unknown(("n", group))
            if group != UNGROUPED:   # an unprinted column, not a suppressed one: bounded, not attacked
                targets.append(("table1", ("n", group), ({("n", group): 1.0}, 0.0)))
    add(*[(1, term(("n", g), patients.get(g))) for g in parts], (-1, term(("n", MARGIN), patients[MARGIN])))
    for name, levels in variables.items():
        for group in groups:
            pieces = [(1, term((name, level, group), levels[level].get(group))) for level in levels]
            pieces.append((1, ({(name, "rest", group): 1.0}, 0.0)))
            add(*pieces, (-1, term(("n", group), patients.get(group))))
            if group == UNGROUPED:
                continue
            for level in levels:
                if levels[level].get(group) is None:
                    targets.append(("table1", (name, level, group), ({(name, level, group): 1.0}, 0.0)))
            targets.append(("table1", (name, "rest", group), ({(name, "rest", group): 1.0}, 0.0)))
        for level in list(levels) + ["rest"]:
            values = levels.get(level, {})
            add(*[(1, term((name, level, g), values.get(g) if level != "rest" else None)) for g in parts],
                (-1, term((name, level, MARGIN), values.get(MARGIN) if level != "rest" else None)))
    roc = html.tables.get("magnesium-roc")
    if roc and "mg_mmol_l" in variables and len(roc) > 1:
        # the ROC's patients are the WHO groups' patients with magnesium, its outcomes the
        # osteoporosis groups' (Table 1's groups are the categories that apply)
        for column, members in ((0, terminology.who_categories()), (1, terminology.osteoporosis_categories())):
            count = _number(roc[1][column])
            if count is not None:
                add(*[(1, term(("mg_mmol_l", "present", g), variables["mg_mmol_l"]["present"].get(g)))
                      for g in parts if g in members], equals=float(count))
    if "mg_mmol_l" in variables:
        for name in MAGNESIUM_SUBSETS:
            for group in groups:
                if name in variables and "True" in variables[name]:
                    # flagged <= with magnesium, as flagged + slack = with magnesium
                    add((1, term((name, "True", group), variables[name]["True"].get(group))),
                        (1, ({("slack", name, group): 1.0}, 0.0)),
                        (-1, term(("mg_mmol_l", "present", group), variables["mg_mmol_l"]["present"].get(group))))
    spearman = {r[0]: r for r in html.tables.get("spearman", [])[1:]}
    paired = next((_number(r[1]) for label, r in spearman.items() if label.startswith("Lowest T-score")), None)
    if "mg_mmol_l" in variables:   # a correlation's pairs are among the patients with magnesium
        for label, r in spearman.items():
            n = _number(r[1])
            if n is not None and not label.startswith("Lowest T-score"):
                add((1, term(MAGNESIUM_ALL, variables["mg_mmol_l"]["present"].get(MARGIN))),
                    (-1, ({("slack", "pairs", label): 1.0}, 0.0)), equals=float(n))
    if bins and paired is not None:
        shown = 0.0
        hidden = []
        for b in bins:
            key = ("bin", b["mg_from_mmol_l"], b["t_score_from"])
            if b["patients"] is None:   # a listed bin holds at least one patient
                hidden.append(key)
                eq.equal({key: 1.0, ("slack", key): -1.0}, 1.0)
                targets.append(("heatmap", key, ({key: 1.0}, 0.0)))
            else:
                shown += int(b["patients"])
        eq.equal({k: 1.0 for k in hidden}, paired - shown)
    present = variables.get("mg_mmol_l", {}).get("present", {})
    with_magnesium = term(MAGNESIUM_ALL, present.get(MARGIN)) if "mg_mmol_l" in variables else ({}, 0.0)
    return [(table, key, "patients", piece) for table, key, piece in targets], with_magnesium
