"""The report's figures, drawn with plotly; each shows only cells that passed the small-cell rule.

Everything is SVG (no WebGL traces), so the charts render in any browser, headless included.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from .dataset import WHO_CATEGORIES
from .disclosure import rule
from .statistics import MagnesiumRoc

# One colour per WHO category in the seed's clinical order (who_categories.display_order), from
# calm to alarming; the categories themselves come from the seed, not from this file.
PALETTE = ("#2a9d8f", "#e9c46a", "#f4a261", "#e76f51", "#9d4edd", "#6c757d")
COLORS = {**dict(zip(WHO_CATEGORIES, PALETTE)), "all": "#264653"}


def _layout(figure: go.Figure, title: str, x: str, y: str) -> go.Figure:
    figure.update_layout(template="simple_white", title=title, xaxis_title=x, yaxis_title=y, height=420,
                         margin={"l": 60, "r": 20, "t": 60, "b": 50}, legend={"orientation": "h", "y": -0.2})
    return figure


def prevalence_trend(by_year: pd.DataFrame) -> go.Figure:
    shown = by_year[~by_year["suppressed"].astype(bool)]
    years = shown["year"].astype(int).tolist()
    figure = go.Figure([
        go.Scatter(x=years + years[::-1], y=(100 * pd.concat([shown["ci_high"], shown["ci_low"][::-1]])).tolist(),
                   fill="toself", fillcolor="rgba(38,70,83,0.15)", line={"width": 0}, hoverinfo="skip",
                   name="Wilson 95% CI"),
        go.Scatter(x=years, y=(100 * shown["prevalence"]).tolist(), mode="lines+markers", name="prevalence",
                   line={"color": COLORS["all"]},
                   customdata=np.stack([shown["n_assessed"], 100 * shown["ci_low"], 100 * shown["ci_high"]], axis=-1)
                   if len(shown) else None,
                   hovertemplate="%{x}: %{y:.1f}% (95% CI %{customdata[1]:.1f}–%{customdata[2]:.1f}%), "
                                 "n = %{customdata[0]:,}<extra></extra>"),
    ])
    figure.update_xaxes(dtick=1)
    return _layout(figure, "Magnesium deficiency by year", "year of scan", "patients deficient (%)")


def prevalence_by_category_and_age(cells: list, age_bands: list[str]) -> go.Figure:
    """Bars of the grid mart's shown cells (objects with the mart's columns as attributes)."""
    figure = go.Figure()
    for category in WHO_CATEGORIES:
        rows = [c for c in cells if c.who_category == category and c.age_band != "all" and not c.suppressed]
        if not rows:
            continue
        rows.sort(key=lambda c: age_bands.index(c.age_band))
        figure.add_bar(
            x=[c.age_band for c in rows], y=[100 * c.prevalence for c in rows], name=category.replace("_", " "),
            marker_color=COLORS[category],
            error_y={"type": "data", "symmetric": False,
                     "array": [100 * (c.ci_high - c.prevalence) for c in rows],
                     "arrayminus": [100 * (c.prevalence - c.ci_low) for c in rows]},
            customdata=[[c.n_assessed] for c in rows],
            hovertemplate="%{x}: %{y:.1f}%, n = %{customdata[0]:,}<extra>" + category + "</extra>")
    figure.update_layout(barmode="group")
    figure.update_xaxes(categoryorder="array", categoryarray=age_bands)
    return _layout(figure, "Magnesium deficiency by WHO category and age band (all years)", "age at scan",
                   "patients deficient (%)")


def magnesium_by_category(frame: pd.DataFrame, categories: list[str]) -> go.Figure:
    """Box plots without individual points (an outlier point is one patient)."""
    figure = go.Figure()
    for category in categories:
        values = frame.loc[frame["who_category"] == category, "mg_mmol_l"].dropna().astype("float64")
        q1, median, q3 = np.percentile(values, [25, 50, 75])
        iqr = q3 - q1
        inside = values[(values >= q1 - 1.5 * iqr) & (values <= q3 + 1.5 * iqr)]
        label = category.replace("_", " ")
        figure.add_trace(go.Box(name=label, x=[label], q1=[q1], median=[median], q3=[q3],
                                lowerfence=[inside.min()], upperfence=[inside.max()], mean=[values.mean()],
                                marker_color=COLORS[category], boxpoints=False, boxmean=True))
    for var, label in (("mg_deficient_below_mmol_l", "deficiency"), ("mg_op_cutoff_at_or_below_mmol_l", "Shi et al.")):
        level = float(rule(var))
        figure.add_shape(type="line", xref="paper", x0=0, x1=1, yref="y", y0=level, y1=level,
                         line={"color": "#555", "dash": "dot", "width": 1.5})
        figure.add_annotation(xref="paper", x=1, xanchor="right", yref="y", y=level, yanchor="bottom",
                              text=f"{label} {level:g}", showarrow=False)
    return _layout(figure, "Serum magnesium by WHO category", "WHO category", "magnesium (mmol/L)")


def magnesium_heatmap(bins: pd.DataFrame) -> go.Figure:
    """Patients per (magnesium, lowest T-score) bin; suppressed bins are blank, empty ones too."""
    shown = bins[bins["patients"].notna()]
    mg = sorted(set(bins["mg_from_mmol_l"]))
    t = sorted(set(bins["t_score_from"]))
    z = [[None] * len(mg) for _ in t]
    for row in shown.itertuples(index=False):
        z[t.index(row.t_score_from)][mg.index(row.mg_from_mmol_l)] = int(row.patients)
    width = (bins["mg_to_mmol_l"] - bins["mg_from_mmol_l"]).iloc[0] if len(bins) else 0
    height = (bins["t_score_to"] - bins["t_score_from"]).iloc[0] if len(bins) else 0
    figure = go.Figure(go.Heatmap(
        x=[round(m + width / 2, 4) for m in mg], y=[v + height / 2 for v in t], z=z, colorscale="Blues",
        hoverongaps=False, colorbar={"title": "patients"},
        hovertemplate="Mg %{x:.3f} mmol/L, T-score %{y:.2f}: %{z} patients<extra></extra>"))
    return _layout(figure, "Magnesium and the lowest T-score (patients per bin)", "magnesium (mmol/L)",
                   "lowest T-score")


def magnesium_roc(roc: MagnesiumRoc) -> go.Figure:
    curve = roc.curve
    figure = go.Figure([
        go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line={"dash": "dash", "color": "#999"}, name="chance",
                   hoverinfo="skip"),
        go.Scatter(x=curve["fpr"], y=curve["tpr"], mode="lines", line={"color": COLORS["all"]},
                   name=f"magnesium, AUC {roc.auroc:.3f}",
                   # no thresholds on the curve: each would be one patient's magnesium value
                   hovertemplate="sensitivity %{y:.2f}, 1-specificity %{x:.2f}<extra></extra>"),
        go.Scatter(x=[1 - roc.youden_specificity], y=[roc.youden_sensitivity], mode="markers",
                   marker={"size": 11, "color": PALETTE[2]}, name=f"Youden cut-off {roc.youden_cutoff:.3f}"),
        go.Scatter(x=[1 - roc.published_specificity], y=[roc.published_sensitivity], mode="markers",
                   marker={"size": 11, "symbol": "diamond", "color": PALETTE[3]},
                   name=f"Shi et al. cut-off {roc.published_cutoff:g}"),
    ])
    figure.update_xaxes(range=[0, 1])
    figure.update_yaxes(range=[0, 1])
    return _layout(figure, "ROC of magnesium for osteoporosis", "1 - specificity", "sensitivity")


def calibration(bins: pd.DataFrame, model_name: str) -> go.Figure:
    top = float(max(bins["mean_predicted"].max(), bins["observed_rate"].max(), 0.1)) if len(bins) else 1.0
    figure = go.Figure([
        go.Scatter(x=[0, top], y=[0, top], mode="lines", line={"dash": "dash", "color": "#999"},
                   name="perfect calibration", hoverinfo="skip"),
        go.Scatter(x=bins["mean_predicted"], y=bins["observed_rate"], mode="lines+markers", name="deciles",
                   line={"color": COLORS["all"]}, customdata=bins[["n"]],
                   hovertemplate="predicted %{x:.2f}, observed %{y:.2f}, n = %{customdata[0]:,}<extra></extra>"),
    ])
    return _layout(figure, f"Calibration of {model_name} (by decile of predicted risk)", "mean predicted risk",
                   "observed rate of osteoporosis")
