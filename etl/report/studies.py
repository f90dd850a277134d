"""The report's section "The studies on the registry": Shi et al. 2026 and Ali et al. 2025
reproduced, and the standardised prevalence, drawn from the snapshot's `analyses` tables (computed
once at publication by `etl.analyses`, aggregates only). Its own template
(`templates/studies.html.j2`) and charts; the page includes it with one line.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import jinja2
import numpy as np
import pandas as pd
import plotly.graph_objects as go
from markupsafe import Markup

from ..analyses.settings import ALI_SOURCE, SHI_SOURCE, SHI_MG_CUTOFF_MMOL_L
from ..analyses.snapshot import SCHEMA
from .render import chart_html

TEMPLATES = Path(__file__).resolve().parent / "templates"
FOLDER = "analyses"             # CSVs beside the page
COLOR, BAND, GREY, ACCENT = "#264653", "rgba(38,70,83,0.18)", "#999", "#e76f51"
PREDICTOR_LABELS = {"age_at_scan": "Age, years", "bmi": "BMI, kg/m²", "mg_mmol_l": "Magnesium, mmol/L",
                    "phosphate_mmol_l": "Phosphate, mmol/L", "beta_ctx_ng_ml": "β-CTx, ng/mL",
                    "p1np_ng_ml": "P1NP, ng/mL"}


@dataclass
class Section:
    html: Markup
    csvs: dict[str, Path]
    charts: tuple[str, ...]
    tables: dict[str, pd.DataFrame]


def load(conn) -> dict[str, pd.DataFrame]:
    names = [name for name, in conn.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = ? ORDER BY table_name",
        [SCHEMA]).fetchall()]
    return {name: conn.sql(f'SELECT * FROM {SCHEMA}."{name}"').df() for name in names}


def _layout(figure: go.Figure, title: str, x: str, y: str, height: int = 420) -> go.Figure:
    figure.update_layout(template="simple_white", title=title, xaxis_title=x, yaxis_title=y, height=height,
                         margin={"l": 60, "r": 20, "t": 60, "b": 50}, legend={"orientation": "h", "y": -0.2})
    return figure


def nomogram_figure(rows: pd.DataFrame) -> go.Figure:
    """One line per predictor with its values placed at their points; total points and probability below."""
    figure = go.Figure()
    axes = [a for a in dict.fromkeys(rows["axis"]) if a != "total points"]
    lines = ["points"] + axes + ["total points", "probability"]
    y_of = {name: len(lines) - i for i, name in enumerate(lines)}
    totals = rows[rows["axis"] == "total points"]
    top = float(totals["points"].max()) if len(totals) else 100.0

    def axis(name, xs, labels):
        y = y_of[name]
        figure.add_scatter(x=[min(xs), max(xs)], y=[y, y], mode="lines", line={"color": COLOR}, showlegend=False,
                           hoverinfo="skip")
        figure.add_scatter(x=xs, y=[y] * len(xs), mode="markers+text", text=labels, textposition="top center",
                           marker={"symbol": "line-ns-open", "size": 10, "color": COLOR}, showlegend=False,
                           hoverinfo="skip")

    axis("points", list(np.linspace(0, 100, 11)), [f"{v:.0f}" for v in np.linspace(0, 100, 11)])
    for name in axes:
        scale = rows[rows["axis"] == name]
        digits = 2 if scale["value"].abs().max() < 10 else 0
        axis(name, scale["points"].tolist(), [f"{v:.{digits}f}" for v in scale["value"]])
    # the total-points line is drawn on the same 0-100 width, labelled with its own range
    axis("total points", (totals["points"] * 100 / top).tolist(), [f"{v:.0f}" for v in totals["points"]])
    axis("probability", (totals["points"] * 100 / top).tolist(), [f"{v:.2f}" for v in totals["value"]])
    figure.update_yaxes(tickvals=list(y_of.values()),
                        ticktext=[PREDICTOR_LABELS.get(n, n) for n in y_of], showgrid=False, zeroline=False)
    figure.update_xaxes(visible=False)
    return _layout(figure, "Nomogram of the local model (points per predictor; total points to probability)", "", "",
                   height=120 + 60 * len(lines))


def calibration_figure(curve: pd.DataFrame) -> go.Figure:
    x = curve["predicted"].tolist()
    top = float(max(curve["predicted"].max(), curve["band_high"].max()))
    figure = go.Figure([
        go.Scatter(x=[0, top], y=[0, top], mode="lines", line={"dash": "dash", "color": GREY}, name="ideal",
                   hoverinfo="skip"),
        go.Scatter(x=x + x[::-1], y=curve["band_high"].tolist() + curve["band_low"].tolist()[::-1], fill="toself",
                   fillcolor=BAND, line={"width": 0}, name="bootstrap 95% band", hoverinfo="skip"),
        go.Scatter(x=x, y=curve["observed"], mode="lines", line={"color": COLOR}, name="smoothed observed (LOWESS)"),
    ])
    return _layout(figure, "Calibration of the local model, out of sample (5-fold cross-validation)",
                   "predicted probability", "observed proportion with osteoporosis")


def decision_figure(curve: pd.DataFrame) -> go.Figure:
    figure = go.Figure([
        go.Scatter(x=curve["threshold"], y=curve["model"], mode="lines", line={"color": COLOR}, name="local model"),
        go.Scatter(x=curve["threshold"], y=curve["treat_all"], mode="lines", line={"color": ACCENT}, name="refer all"),
        go.Scatter(x=curve["threshold"], y=curve["treat_none"], mode="lines", line={"color": GREY, "dash": "dot"},
                   name="refer none"),
    ])
    high = float(max(curve["model"].max(), curve["treat_all"].max(), 0.05))
    figure.update_yaxes(range=[-0.05, high * 1.05])
    return _layout(figure, "Decision curve: net benefit of referral by the local model", "threshold probability",
                   "net benefit")


def trend_figure(yearly: pd.DataFrame) -> go.Figure:
    figure = go.Figure()
    for column, name, color in (("crude", "crude", GREY), ("standardised", "standardised", COLOR)):
        shown = yearly[~yearly["suppressed"].astype(bool) & yearly[column].notna()]
        years = shown["year"].astype(int).tolist()
        figure.add_scatter(x=years, y=(100 * shown[column]).tolist(), mode="lines+markers", name=name,
                           line={"color": color},
                           error_y={"type": "data", "symmetric": False,
                                    "array": (100 * (shown[f"{column}_ci_high"] - shown[column])).tolist(),
                                    "arrayminus": (100 * (shown[column] - shown[f"{column}_ci_low"])).tolist()})
    figure.update_xaxes(dtick=1)
    return _layout(figure, "Magnesium deficiency by year, crude and age-sex standardised", "year of scan",
                   "patients deficient (%)")


def roc_figure(curves: pd.DataFrame, rocs: pd.DataFrame) -> go.Figure:
    figure = go.Figure([go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line={"dash": "dash", "color": GREY},
                                   name="chance", hoverinfo="skip")])
    for marker, color in (("magnesium", COLOR), ("phosphate", ACCENT)):
        curve = curves[curves["marker"] == marker]
        row = rocs[rocs["marker"] == marker]
        if len(curve) and len(row) and row["auroc"].notna().all():
            figure.add_scatter(x=curve["fpr"], y=curve["tpr"], mode="lines", line={"color": color},
                               name=f"{marker}, AUC {float(row['auroc'].iloc[0]):.3f}")
    figure.update_xaxes(range=[0, 1])
    figure.update_yaxes(range=[0, 1])
    return _layout(figure, "ROC of magnesium and phosphate (lower value = osteoporosis)", "1 - specificity",
                   "sensitivity")


def _figures(tables: dict[str, pd.DataFrame]) -> dict[str, go.Figure]:
    figures = {}
    if "shi_roc_curves" in tables:
        figures["chart-studies-roc"] = roc_figure(tables["shi_roc_curves"], tables["shi_marker_roc"])
    if "shi_nomogram" in tables:
        figures["chart-studies-nomogram"] = nomogram_figure(tables["shi_nomogram"])
    if "shi_calibration_curve" in tables:
        figures["chart-studies-calibration"] = calibration_figure(tables["shi_calibration_curve"])
    if "shi_decision_curve" in tables:
        figures["chart-studies-decision"] = decision_figure(tables["shi_decision_curve"])
    standardised = tables.get("mg_deficiency_standardised")
    if standardised is not None and len(standardised) and (~standardised["suppressed"].astype(bool)).any():
        figures["chart-studies-standardised"] = trend_figure(standardised)
    return figures


def _num(value, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{value:.{digits}f}"


def _interval(low, high, digits: int = 3) -> str:
    if low is None or (isinstance(low, float) and math.isnan(low)):
        return ""
    return f"{low:.{digits}f}–{high:.{digits}f}"


def _count(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "suppressed"
    return f"{int(value):,}"


def _p(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def _records(frame: pd.DataFrame | None) -> list[dict]:
    if frame is None:
        return []
    return [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}
            for row in frame.to_dict("records")]


def _group_tables(frame: pd.DataFrame | None) -> list[dict]:
    """Each comparison as rows x groups of shown text, for the template."""
    if frame is None:
        return []
    out = []
    for comparison, rows in frame.groupby("comparison", sort=False):
        groups = list(dict.fromkeys(rows["group"]))
        lines = []
        for variable, cells in rows.groupby("variable", sort=False):
            first = cells.iloc[0]
            lines.append({"variable": variable, "label": first["label"], "statistic": first["statistic"],
                          "cells": dict(zip(cells["group"], cells["shown"])), "p": first["p_value"],
                          "test": first["test"], "censored": first["n_censored"], "left_out": first["n_left_out"]})
        out.append({"name": comparison, "groups": groups, "rows": lines})
    return out


def section(conn, out_dir: Path) -> Section:
    """The section's HTML (charts inside) and its CSVs, from the snapshot behind `conn`."""
    tables = load(conn)
    folder = Path(out_dir) / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    csvs = {}
    for name, frame in tables.items():
        target = folder / f"{name}.csv"
        frame.to_csv(target, index=False)
        csvs[f"{FOLDER}/{name}"] = target
    figures = _figures(tables)
    charts = {chart_id: Markup(chart_html(figure, chart_id)) for chart_id, figure in figures.items()}
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                                     undefined=jinja2.StrictUndefined)
    trend = _records(tables.get("mg_deficiency_trend"))
    yearly = _records(tables.get("mg_deficiency_standardised"))
    latest = trend[0]["latest_complete_year"] if trend else None
    html = environment.get_template("studies.html.j2").render(
        computed=bool(tables), charts=charts, num=_num, interval=_interval, count=_count, p=_p,
        side_by_side=_records(tables.get("studies_side_by_side")),
        shi_ors=_records(tables.get("shi_odds_ratios")), shi_rocs=_records(tables.get("shi_marker_roc")),
        group_tables=_group_tables(tables.get("shi_group_tables")),
        comparison=_records(tables.get("shi_model_comparison")), local_model=_records(tables.get("shi_local_model")),
        ali_correlations=_records(tables.get("ali_correlations")), ali_ors=_records(tables.get("ali_odds_ratios")),
        yearly=yearly, trend=trend[0] if trend else None,
        headline=next((r for r in yearly if r["year"] == latest and not r["suppressed"]), None) if latest else None,
        populations={r["study"]: r for r in _records(tables.get("populations"))},
        latest_year=latest, cutoff=SHI_MG_CUTOFF_MMOL_L, shi_source=SHI_SOURCE, ali_source=ALI_SOURCE,
        labels=PREDICTOR_LABELS)
    return Section(Markup(html), csvs, tuple(figures), tables)
