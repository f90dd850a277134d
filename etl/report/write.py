"""`osteoreg report`: the HTML report and a CSV of each mart, from the published snapshot only."""
from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass, field
from types import SimpleNamespace
from datetime import datetime
from pathlib import Path


from .. import terminology
from ..errors import UsageError
from ..publish import open_snapshot
from ..scoring.settings import DEFAULT as SCORING
from . import charts, dataset, statistics, studies
from ..disclosure import AGGREGATE_MARTS, PRIMARY, RULE_MARTS, SECONDARY
from ..docs import dictionary_path
from .bins import MG_BIN_MMOL_L, T_SCORE_BIN, magnesium_tscore_bins
from ..disclosure.prevalence import published_rows
from .disclosure import (activate, count_text, deactivate, protect_bins, protect_table1_in_release, rule, shown_count,
                         small_cell_limit)
from .render import render

REPORT_FILE = "osteoreg-report.html"
DICTIONARY_FILE = "data-dictionary.html"
MARTS_FOLDER = "marts"
TABLE1_FILE = "table1_by_who_category.csv"
HEATMAP_FILE = "magnesium_tscore_bins.csv"


@dataclass(frozen=True)
class Headline:
    """The three figures `make demo` prints; a count below the small-cell limit is None."""

    patients: int | None
    assessments: int | None
    prevalence_year: int | None
    prevalence: float | None
    ci_low: float | None
    ci_high: float | None
    prevalence_n: int | None
    partial_through: object = None               # the last scan date when the year quoted is partial

    def sentence(self) -> str:
        """The recap line; the counts were already withheld by the report's limit (`shown_count`), so
        the sentence needs no rule and can be printed after the report's rules are released."""
        people = f"{'suppressed' if self.patients is None else format(self.patients, ',')} patients"
        scans = f"{'suppressed' if self.assessments is None else format(self.assessments, ',')} assessments"
        if self.prevalence is None:
            return f"{people}, {scans}; magnesium deficiency: no year with enough patients to show."
        return (f"{people}, {scans}; magnesium deficiency {100 * self.prevalence:.1f}% "
                f"(95% CI {100 * self.ci_low:.1f}–{100 * self.ci_high:.1f}%) in {self.prevalence_year} "
                + (f"(a partial year: scans to {self.partial_through}) " if self.partial_through else "")
                + f"(n = {self.prevalence_n:,}).")


@dataclass
class ReportResult:
    html: Path
    csvs: dict[str, Path]                       # mart name -> CSV; also table1 and prevalence cells
    dictionary: Path | None
    headline: Headline
    charts: tuple[str, ...]                     # the chart element ids in the page
    seconds: float
    suppression_seconds: float = 0.0            # Table 1 and heat map protection (the marts come protected)
    suppressions: dict[str, dict[str, int]] = field(default_factory=dict)  # table -> primary/secondary counts
    tables: dict[str, object] = field(default_factory=dict, repr=False)  # the computed tables, for tests


def _marts(conn) -> list[str]:
    return [name for name, in conn.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'marts' ORDER BY table_name").fetchall()]


def _export_marts(conn, folder: Path) -> dict[str, Path]:
    """One CSV per published aggregate mart (protected in the snapshot) and the rules in effect;
    row-level marts stay in the restricted snapshot (`osteoreg export --restricted`)."""
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for name in [m for m in _marts(conn) if m in AGGREGATE_MARTS + RULE_MARTS]:
        target = folder / f"{name}.csv"
        escaped = str(target).replace("'", "''")
        conn.execute(f"COPY (SELECT * FROM marts.\"{name}\") TO '{escaped}' (HEADER, DELIMITER ',')").fetchall()
        written[name] = target
    return written


def _headline(overview: dataset.Overview, by_year) -> Headline:
    limit = small_cell_limit()
    year, partial = dataset.headline_year(by_year, overview.last_scan)
    latest = None if year is None else by_year[by_year["year"] == year].iloc[0]
    return Headline(
        patients=shown_count(overview.patients, limit), assessments=shown_count(overview.assessments, limit),
        prevalence_year=None if latest is None else int(latest["year"]),
        prevalence=None if latest is None else float(latest["prevalence"]),
        ci_low=None if latest is None else float(latest["ci_low"]),
        ci_high=None if latest is None else float(latest["ci_high"]),
        prevalence_n=None if latest is None else int(latest["n_assessed"]),
        partial_through=overview.last_scan if partial else None)


def _model_view(model: dict) -> dict:
    """A model card for the page: what the model is, its population and predictor timing, its odds
    ratios (the published ones with the paper's intervals, or the refit's), and its out-of-sample
    metrics with their interval method; counts pass the small-cell rule."""
    card, metrics = model["card"], model["metrics"]
    sample = metrics.get("out_of_sample") or {}
    published = card.get("published_odds_ratios")
    ratios = []
    for term, value in sorted((published or card.get("odds_ratios") or {}).items()):
        if isinstance(value, dict):
            ratios.append((term, value["odds_ratio"], value.get("ci_low"), value.get("ci_high")))
        elif value is not None:
            ratios.append((term, float(value), None, None))
    limit = small_cell_limit()
    days = [(analyte, values) for analyte, values in sorted((card.get("days_before_scan") or {}).items())
            if values.get("n", 0) >= limit]
    method = {"patient_cluster_bootstrap": "patient-cluster bootstrap (patients have several scans)",
              "delong": "DeLong"}.get(sample.get("method"), "")
    return {
        "name": model["model_name"], "version": model["model_version"], "origin": model["origin"] or "",
        "title": card.get("title", model["model_name"]), "source": card.get("source", ""),
        "what_it_is": card.get("what_it_is"), "population": _sentence(card.get("population") or "") or None,
        "predictor_timing": _sentence(card.get("predictor_timing") or "") or None,
        "cutoff": _sentence(card.get("cutoff") or "") or None,
        "formula": card.get("formula"), "odds_ratios": ratios,
        "odds_ratio_heading": "published odds ratio (95% CI of the paper)" if published else "odds ratio (95% CI)",
        "days_before_scan": days,
        "warnings": [_sentence(text) for text in card.get("warnings") or []],
        "evaluation": _sentence(card.get("validation") or card.get("evaluation") or ""),
        "limitations": _sentence(card.get("limitations") or "") or None,
        "metrics_note": card.get("metrics_note"),
        "interval_method": method,
        "metrics": {key: sample.get(key) for key in ("auroc", "ci_low", "ci_high", "brier", "calibration_intercept",
                                                    "calibration_slope")}
        | {"n_assessments": shown_count(sample.get("n_assessments"), limit),
           "n_outcomes": shown_count(sample.get("n_outcomes"), limit)},
    }


def _sentence(text: str) -> str:
    text = text.strip()
    return text if not text or text.endswith(".") else text + "."


def _when(value) -> str:
    """A timestamp to the minute (a date as it is): the page is read, not parsed."""
    if value is None:
        return "–"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M") + (" UTC" if value.utcoffset() is not None else "")
    return str(value)


def _pvalue(p: float | None) -> str:
    if p is None:
        return ""
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def _number(value, digits: int = 3) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def _grid(rows: list[dict]) -> dict[tuple[str, str], SimpleNamespace]:
    return {(row["who_category"], row["age_band"]): SimpleNamespace(**row) for row in rows}


def _tally(conn) -> dict[str, int]:
    """Primary and secondary suppressions of the published prevalence marts."""
    tally = {PRIMARY: 0, SECONDARY: 0}
    present = set(_marts(conn))
    for mart in AGGREGATE_MARTS:
        if mart in present:
            for reason, count in conn.execute(f"SELECT suppression, count(*) FROM marts.{mart} "
                                              "WHERE suppression IS NOT NULL GROUP BY ALL").fetchall():
                tally[reason] = tally.get(reason, 0) + count
    return tally


def roc_sums(frame, outcome_categories: tuple[str, ...]) -> dict[str, tuple[int, list[str]]]:
    """The ROC's printed counts as sums of Table 1's groups' patients with magnesium: its patients
    are the WHO groups' (the criteria apply), its outcomes the osteoporosis groups'."""
    population = statistics.roc_population(frame)
    return {"patients": (len(population), list(dataset.WHO_CATEGORIES)),
            "outcomes": (int(population["iscd_category"].isin(outcome_categories).sum()), list(outcome_categories))}


def write_report(warehouse_path: Path, out_dir: Path, secondary: bool = True) -> ReportResult:
    """Write `osteoreg-report.html`, `marts/*.csv` (aggregates only), the analysis tables and the
    data dictionary; every figure passes disclosure control (`etl.report.disclosure`).
    `secondary=False` leaves out Table 1's and the heat map's secondary suppression: only for
    the disclosure attacker's own test; no command offers it."""
    try:
        return _write_report(warehouse_path, out_dir, secondary)
    finally:
        deactivate()


def _write_report(warehouse_path: Path, out_dir: Path, secondary: bool) -> ReportResult:
    started = time.perf_counter()
    out_dir = Path(out_dir).absolute()
    blocking = next((p for p in (out_dir, *out_dir.parents) if p.exists() and not p.is_dir()), None)
    if blocking is not None:
        raise UsageError(f"The report folder {out_dir} cannot be made because {blocking} is a file; "
                         "name a folder with --out.")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UsageError(f"The report folder {out_dir} cannot be made ({error.strerror or type(error).__name__}).") from None
    outcome_categories = terminology.osteoporosis_categories()
    with open_snapshot(Path(warehouse_path)) as conn:
        policy = activate(conn)
        limit = policy.limit
        overview = dataset.overview(conn)
        frame = dataset.analysis_set(conn)
        by_year = dataset.prevalence_by_year(conn)
        grid_rows = dataset.prevalence_by_category_and_age(conn)
        models = dataset.current_models(conn)
        calibration_scores = dataset.calibration_frame(conn)
        triage = dataset.triage_size(conn)
        csvs = _export_marts(conn, out_dir / MARTS_FOLDER)
        age_bands = dataset.age_band_labels(conn)
        prevalence_tally = _tally(conn)
        prevalence_rows = published_rows(conn)
        studies_section = studies.section(conn, out_dir)

    correlations = statistics.spearman(frame)
    suppression_started = time.perf_counter()
    with_mg = frame[frame["mg_mmol_l"].notna()]
    # the correlations' pairs with a BMD site are among Table 1's patients with magnesium (those
    # with the lowest T-score are all of them: that count is Table 1's own, hidden with it below)
    pairs = {c.variable: c.n for c in correlations if c.variable != "min_t_score"}
    linked = protect_table1_in_release(
        lambda: statistics.table1(frame), roc_sums(frame, outcome_categories), pairs,
        prevalence_rows, secondary)
    table1, table1_tally = linked.table, linked.tally
    mg_all_hidden = ("mg_mmol_l", "present", "all") in table1_tally.hidden
    bins = magnesium_tscore_bins(frame)
    bins_hidden, bins_tally = protect_bins(
        {(r.mg_from_mmol_l, r.t_score_from): int(r.patients) for r in bins.itertuples(index=False)},
        int(bins["patients"].sum()), secondary) if len(bins) and not mg_all_hidden else (set(), None)
    if mg_all_hidden or (bins_tally is not None and "all" in bins_tally.hidden):
        # withheld: the bins sum to Table 1's patients with magnesium (every analysis-set patient
        # has a T-score), so with that count hidden the picture would print it; and with no
        # pattern that protects the bins, not even which bins hold patients is published
        bins = bins.iloc[0:0]
    if len(bins):
        bins["patients"] = [None if (r.mg_from_mmol_l, r.t_score_from) in bins_hidden else int(r.patients)
                            for r in bins.itertuples(index=False)]
        bins["patients"] = bins["patients"].astype("Int64")
    suppression_seconds = time.perf_counter() - suppression_started

    if mg_all_hidden:   # the pairs with the T-score are Table 1's patients with magnesium
        for c in correlations:   # (all pairs, when withheld: each count is a floor under it)
            if c.variable == "min_t_score" or linked.withheld:
                c.n, c.rho, c.ci_low, c.ci_high, c.p_value = None, None, None, None, None
    roc = statistics.magnesium_roc(frame, outcome_categories)
    if ("roc", "outcomes") in table1_tally.hidden:
        roc.n_outcomes = None
    if ("roc", "patients") in table1_tally.hidden:
        roc.n = None

    grid = _grid(grid_rows)
    figures = {"chart-prevalence-trend": charts.prevalence_trend(by_year),
               "chart-prevalence-category-age": charts.prevalence_by_category_and_age(list(grid.values()), age_bands)}
    shown_categories = [c for c in dataset.WHO_CATEGORIES if (with_mg["who_category"] == c).any()
                        and ("mg_mmol_l", "present", c) not in table1_tally.hidden]
    left_out = [c.replace("_", " ") for c in dataset.WHO_CATEGORIES
                if ("mg_mmol_l", "present", c) in table1_tally.hidden]
    if shown_categories:
        figures["chart-magnesium-by-category"] = charts.magnesium_by_category(with_mg, shown_categories)
    if len(bins) and bins["patients"].notna().any():
        figures["chart-magnesium-heatmap"] = charts.magnesium_heatmap(bins)
    if roc.auroc is not None:
        figures["chart-magnesium-roc"] = charts.magnesium_roc(roc)
    model_views = [_model_view(model) for model in models]
    calibration_tables = {}
    for model in model_views:
        scores = calibration_scores[calibration_scores["model_name"] == model["name"]]
        calibration = statistics.calibration_bins(scores)
        calibration_tables[model["name"]] = calibration
        if len(calibration):
            figures[f"chart-calibration-{model['name']}"] = charts.calibration(calibration, model["name"])

    suppressions = {
        "prevalence": prevalence_tally,
        "table1": {PRIMARY: table1_tally.primary, SECONDARY: table1_tally.secondary},
        "heatmap": {PRIMARY: bins_tally.primary if bins_tally else 0,
                    SECONDARY: bins_tally.secondary if bins_tally else 0},
    }
    html = render({
        "figures": figures, "overview": overview, "limit": limit, "count": lambda n: count_text(n, limit),
        "policy": policy, "suppressions": suppressions,
        "pvalue": _pvalue, "number": _number, "when": _when, "written_at": _when(datetime.now()),
        "dictionary": None, "table1": table1, "skew": statistics.SKEWNESS_FOR_MEDIAN,
        "mg_deficient": rule("mg_deficient_below_mmol_l"),
        "by_year": by_year.to_dict("records"), "age_bands": age_bands,
        "prevalence_categories": [c for c in dataset.WHO_CATEGORIES if (c, "all") in grid] + ["all"],
        "prevalence_grid": grid, "who_from_age": rule("iscd_who_applies_from_age"), "distribution_left_out": left_out, "correlations": correlations,
        "heatmap_note": (f"Patients per bin of {MG_BIN_MMOL_L} mmol/L magnesium and {T_SCORE_BIN} T-score units "
                         f"(latest assessment); bins with 1 to {limit - 1} patients, and bins that would give "
                         "one away from the total, are blank. No individual patient is drawn."),
        "roc": roc, "outcome_categories": [c.replace("_", " ") for c in outcome_categories],
        "published_auc": SCORING.shi_mg_alone_auc, "models": model_views, "triage": triage,
        "studies": studies_section.html,
    } | _dictionary_context(warehouse_path, out_dir))
    target = out_dir / REPORT_FILE
    partial = target.with_name(f"{target.name}.partial-{os.getpid()}")
    partial.write_text(html, encoding="utf-8")
    os.replace(partial, target)

    table1.frame().to_csv(out_dir / TABLE1_FILE, index=False)
    csvs["table1_by_who_category"] = out_dir / TABLE1_FILE
    bins.to_csv(out_dir / HEATMAP_FILE, index=False)
    csvs["magnesium_tscore_bins"] = out_dir / HEATMAP_FILE
    csvs.update(studies_section.csvs)
    dictionary = out_dir / DICTIONARY_FILE
    return ReportResult(
        html=target, csvs=csvs, dictionary=dictionary if dictionary.exists() else None,
        headline=_headline(overview, by_year), charts=tuple(figures) + studies_section.charts,
        seconds=time.perf_counter() - started,
        suppression_seconds=suppression_seconds, suppressions=suppressions,
        tables={"overview": overview, "table1": table1, "prevalence_by_year": by_year, "prevalence_grid": grid,
                "correlations": correlations, "roc": roc, "calibration": calibration_tables, "models": model_views,
                "heatmap": bins, "studies": studies_section.tables})


def _dictionary_context(warehouse_path: Path, out_dir: Path) -> dict:
    """Copy the published data dictionary beside the report, so the relative link works."""
    published = dictionary_path(Path(warehouse_path).absolute())
    if not published.exists():
        return {"dictionary": None}
    shutil.copyfile(published, out_dir / DICTIONARY_FILE)
    return {"dictionary": DICTIONARY_FILE}


__all__ = ["Headline", "ReportResult", "write_report"]
