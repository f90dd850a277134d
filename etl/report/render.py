"""The report page: one HTML file with plotly.js inside it, so it opens offline and anywhere.

The page carries no address outside itself: plotly.js is embedded (its source mentions map-tile
servers that only map charts use; this report draws none), the data dictionary is a relative
link to the file written beside it, and sources are cited as text.
"""
from __future__ import annotations

from pathlib import Path

import jinja2
from markupsafe import Markup
import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

CHART_CLASS = "plotly-graph-div"

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
TEMPLATE = "report.html.j2"


def chart_html(figure: go.Figure, chart_id: str) -> str:
    return figure.to_html(full_html=False, include_plotlyjs=False, div_id=chart_id,
                          config={"displaylogo": False, "responsive": True})


def render(context: dict) -> str:
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATE_DIR), autoescape=True,
                                     undefined=jinja2.StrictUndefined)
    charts = {chart_id: Markup(chart_html(figure, chart_id))
              for chart_id, figure in context.pop("figures").items()}
    template = environment.get_template(TEMPLATE)
    return template.render(plotly_js=Markup(get_plotlyjs()), charts=charts,
                           chart_class=CHART_CLASS, **context)
