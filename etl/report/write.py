"""`osteoreg report`: the HTML report and a CSV of each mart, from the published snapshot only."""
from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pandas as pd

from ..publish import open_snapshot
from ..rules import dbt_var
from ..scoring.settings import DEFAULT as SCORING
from . import charts, dataset, statistics, studies
from .dictionary import dictionary_path
from .disclosure import count_text, shown_count, small_cell_limit
from .render import render

REPORT_FILE = "osteoreg-report.html"
DICTIONARY_FILE = "data-dictionary.html"
MARTS_FOLDER = "marts"


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

    def sentence(self) -> str:
        limit = small_cell_limit()
        people = f"{count_text(self.patients, limit) if self.patients is not None else f'<{limit}'} patients"
        scans = f"{count_text(self.assessments, limit) if self.assessments is not None else f'<{limit}'} assessments"
        if self.prevalence is None:
            return f"{people}, {scans}; magnesium deficiency: no year with enough patients to show."
        return (f"{people}, {scans}; magnesium deficiency {100 * self.prevalence:.1f}% "
                f"(95% CI {100 * self.ci_low:.1f}–{100 * self.ci_high:.1f}%) in {self.prevalence_year} "
                f"(n = {self.prevalence_n:,}).")


@dataclass
class ReportResult:
    html: Path
    csvs: dict[str, Path]                       # mart name -> CSV; also table1 and prevalence cells
    dictionary: Path | None
    headline: Headline
    charts: tuple[str, ...]                     # the chart element ids in the page
    seconds: float
    tables: dict[str, object] = field(default_factory=dict, repr=False)  # the computed tables, for tests


def _marts(conn) -> list[str]:
    return [name for name, in conn.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'marts' ORDER BY table_name").fetchall()]


def _export_marts(conn, folder: Path) -> dict[str, Path]:
    """One CSV per mart, written by DuckDB (set-based, however large the mart)."""
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for name in _marts(conn):
        target = folder / f"{name}.csv"
        escaped = str(target).replace("'", "''")
        conn.execute(f"COPY (SELECT * FROM marts.\"{name}\") TO '{escaped}' (HEADER, DELIMITER ',')").fetchall()
        written[name] = target
    return written


def _headline(overview: dataset.Overview, by_year) -> Headline:
    limit = small_cell_limit()
    shown = by_year[~by_year["suppressed"].astype(bool)]
    latest = shown.iloc[-1] if len(shown) else None
    return Headline(
        patients=shown_count(overview.patients, limit), assessments=shown_count(overview.assessments, limit),
        prevalence_year=None if latest is None else int(latest["year"]),
        prevalence=None if latest is None else float(latest["prevalence"]),
        ci_low=None if latest is None else float(latest["ci_low"]),
        ci_high=None if latest is None else float(latest["ci_high"]),
        prevalence_n=None if latest is None else int(latest["n_assessed"]))


def _model_view(model: dict) -> dict:
    card, metrics = model["card"], model["metrics"]
    sample = metrics.get("out_of_sample") or {}
    ratios = []
    for term, value in sorted((card.get("odds_ratios") or {}).items()):
        if isinstance(value, dict):
            ratios.append((term, value["odds_ratio"], value.get("ci_low"), value.get("ci_high")))
        elif value is not None:
            ratios.append((term, float(value), None, None))
    limit = small_cell_limit()
    return {
        "name": model["model_name"], "version": model["model_version"], "origin": model["origin"] or "",
        "title": card.get("title", model["model_name"]), "source": card.get("source", ""),
        "formula": card.get("formula"), "odds_ratios": ratios,
        "evaluation": _sentence(card.get("validation") or card.get("evaluation") or ""),
        "limitations": _sentence(card.get("limitations") or "") or None,
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


def write_report(warehouse_path: Path, out_dir: Path) -> ReportResult:
    """Write `osteoreg-report.html`, `marts/*.csv`, the analysis tables and the data dictionary."""
    started = time.perf_counter()
    out_dir = Path(out_dir).absolute()
    out_dir.mkdir(parents=True, exist_ok=True)
    limit = small_cell_limit()
    outcome_categories = SCORING.outcome_categories
    with open_snapshot(Path(warehouse_path)) as conn:
        overview = dataset.overview(conn)
        frame = dataset.analysis_set(conn)
        by_year = dataset.prevalence_by_year(conn)
        cell_counts = dataset.prevalence_by_category_and_age(conn)
        models = dataset.current_models(conn)
        calibration_scores = dataset.calibration_frame(conn, outcome_categories)
        csvs = _export_marts(conn, out_dir / MARTS_FOLDER)
        age_bands = dataset.age_band_labels(conn)
        studies_section = studies.section(conn, out_dir)

    table1 = statistics.table1(frame)
    cells = statistics.prevalence_cells(cell_counts)
    correlations = statistics.spearman(frame)
    roc = statistics.magnesium_roc(frame, outcome_categories)

    figures = {"chart-prevalence-trend": charts.prevalence_trend(by_year),
               "chart-prevalence-category-age": charts.prevalence_by_category_and_age(cells, age_bands)}
    with_mg = frame[frame["mg_mmol_l"].notna()]
    shown_categories = [c for c in dataset.WHO_CATEGORIES if (with_mg["who_category"] == c).sum() >= limit]
    left_out = [c.replace("_", " ") for c in dataset.WHO_CATEGORIES
                if 0 < (with_mg["who_category"] == c).sum() < limit]
    if shown_categories:
        figures["chart-magnesium-by-category"] = charts.magnesium_by_category(with_mg, shown_categories)
    scatter_rows = int(frame[["mg_mmol_l", "min_t_score"]].dropna().shape[0])
    if scatter_rows >= limit:
        figures["chart-magnesium-scatter"] = charts.magnesium_scatter(frame, SCORING.seed)
    if roc.auroc is not None:
        figures["chart-magnesium-roc"] = charts.magnesium_roc(roc)
    model_views = [_model_view(model) for model in models]
    calibration_tables = {}
    for model in model_views:
        scores = calibration_scores[calibration_scores["model_name"] == model["name"]]
        bins = statistics.calibration_bins(scores)
        calibration_tables[model["name"]] = bins
        if len(bins):
            figures[f"chart-calibration-{model['name']}"] = charts.calibration(bins, model["name"])

    prevalence_grid = {(c.who_category, c.age_band): c for c in cells}
    html = render({
        "figures": figures, "overview": overview, "limit": limit, "count": lambda n: count_text(n, limit),
        "pvalue": _pvalue, "number": _number, "when": _when, "written_at": _when(datetime.now()),
        "dictionary": None, "table1": table1, "skew": statistics.SKEWNESS_FOR_MEDIAN,
        "mg_deficient": dbt_var("mg_deficient_below_mmol_l"),
        "by_year": by_year.to_dict("records"), "age_bands": age_bands,
        "prevalence_categories": [c for c in dataset.WHO_CATEGORIES if (c, "all") in prevalence_grid] + ["all"],
        "prevalence_grid": prevalence_grid, "distribution_left_out": left_out, "correlations": correlations,
        "scatter_note": (f"One point per patient (latest assessment); a random {charts.SCATTER_POINTS:,} of "
                         f"{scatter_rows:,} are drawn." if scatter_rows > charts.SCATTER_POINTS
                         else "One point per patient (latest assessment)."),
        "roc": roc, "outcome_categories": [c.replace("_", " ") for c in outcome_categories],
        "published_auc": SCORING.shi_mg_alone_auc, "models": model_views, "studies": studies_section.html,
    } | _dictionary_context(warehouse_path, out_dir))
    target = out_dir / REPORT_FILE
    partial = target.with_name(f"{target.name}.partial-{os.getpid()}")
    partial.write_text(html, encoding="utf-8")
    os.replace(partial, target)

    table1.frame().to_csv(out_dir / "table1_by_who_category.csv", index=False)
    csvs["table1_by_who_category"] = out_dir / "table1_by_who_category.csv"
    pd.DataFrame([vars(cell) for cell in cells]).to_csv(out_dir / "mg_deficiency_by_category_and_age.csv",
                                                       index=False)
    csvs["mg_deficiency_by_category_and_age"] = out_dir / "mg_deficiency_by_category_and_age.csv"
    csvs.update(studies_section.csvs)
    dictionary = out_dir / DICTIONARY_FILE
    return ReportResult(
        html=target, csvs=csvs, dictionary=dictionary if dictionary.exists() else None,
        headline=_headline(overview, by_year), charts=tuple(figures) + studies_section.charts, seconds=time.perf_counter() - started,
        tables={"overview": overview, "table1": table1, "prevalence_by_year": by_year, "prevalence_cells": cells,
                "correlations": correlations, "roc": roc, "calibration": calibration_tables, "models": model_views,
                "studies": studies_section.tables})


def _dictionary_context(warehouse_path: Path, out_dir: Path) -> dict:
    """Copy the published data dictionary beside the report, so the relative link works."""
    published = dictionary_path(Path(warehouse_path).absolute())
    if not published.exists():
        return {"dictionary": None}
    shutil.copyfile(published, out_dir / DICTIONARY_FILE)
    return {"dictionary": DICTIONARY_FILE}


__all__ = ["Headline", "ReportResult", "write_report"]
