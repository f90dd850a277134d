"""The report page: one HTML file with plotly.js inside it, so it opens offline and anywhere.

The page carries no address outside itself: plotly.js is embedded (its source mentions map-tile
servers that only map charts use; this report draws none), the data dictionary is a relative
link to the file written beside it, and sources are cited as text.
"""
from __future__ import annotations

import jinja2
from markupsafe import Markup
import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

CHART_CLASS = "plotly-graph-div"

TEMPLATE = r"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>osteoreg report</title>
<style>
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0 auto; max-width: 1100px;
       padding: 1.5rem; color: #1d2b36; line-height: 1.45; }
h1 { margin-bottom: 0.2rem; } h2 { border-bottom: 2px solid #264653; padding-bottom: 0.2rem; margin-top: 2.2rem; }
.meta { color: #5b6b77; font-size: 0.92rem; }
table { border-collapse: collapse; margin: 0.8rem 0; font-size: 0.9rem; }
th, td { border-bottom: 1px solid #d8dee3; padding: 0.3rem 0.6rem; text-align: right; vertical-align: top; }
th:first-child, td:first-child { text-align: left; }
thead th { background: #f1f4f6; }
td.indent { padding-left: 1.6rem; }
.suppressed { color: #8a96a0; font-style: italic; }
.note { color: #5b6b77; font-size: 0.88rem; max-width: 60rem; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(14rem, 1fr)); gap: 0.8rem; }
.card { border: 1px solid #d8dee3; border-radius: 6px; padding: 0.7rem 0.9rem; }
.card .value { font-size: 1.5rem; font-weight: 600; }
.status-passed { color: #2a7d4f; font-weight: 600; } .status-failed { color: #b3261e; font-weight: 600; }
.model { border: 1px solid #d8dee3; border-radius: 6px; padding: 0.4rem 1rem 1rem; margin: 1rem 0; }
</style>
<script>{{ plotly_js }}</script>
</head>
<body>
<h1>osteoreg registry report</h1>
<p class="meta">Snapshot published {{ when(overview.published_at) }}; report written {{ written_at }}.
Disclosure control (rules in effect <code>small_cell_limit</code> = {{ policy.limit }},
<code>disclosure_protection_width</code> = {{ policy.protection_width }}): {{ policy.describe() }}.
Suppressed here: prevalence tables {{ suppressions.prevalence.primary }} primary and {{ suppressions.prevalence.secondary }} secondary
cells; Table 1 {{ suppressions.table1.primary }} primary and {{ suppressions.table1.secondary }} secondary; heat map
{{ suppressions.heatmap.primary }} primary and {{ suppressions.heatmap.secondary }} secondary bins.
Counts in the restricted snapshot are exact; this page and its CSVs carry aggregates only.
Data dictionary: {% if dictionary %}<a href="{{ dictionary }}">tables and columns</a>{% else %}not published with this snapshot{% endif %}.
CSV files of the aggregate marts and the rules in effect are in <code>marts/</code> beside this page.</p>

<h2 id="overview">Cohort overview</h2>
<div class="cards" id="overview-cards">
  <div class="card"><div>Patients</div><div class="value" data-figure="patients">{{ count(overview.patients) }}</div></div>
  <div class="card"><div>DXA assessments</div><div class="value" data-figure="assessments">{{ count(overview.assessments) }}</div></div>
  <div class="card"><div>Current lab results</div><div class="value" data-figure="lab_results">{{ count(overview.lab_results) }}</div></div>
  <div class="card"><div>Loads</div><div class="value" data-figure="loads">{{ "{:,}".format(overview.loads) }}</div>
    <div class="meta">last finished {{ when(overview.last_load) }}{% if overview.loads_failed %}; {{ overview.loads_failed }} failed{% endif %}</div></div>
  <div class="card"><div>Last quality check</div>
    {% if overview.quality_status %}<div class="value status-{{ overview.quality_status }}" data-figure="quality_status">{{ overview.quality_status }}</div>
    <div class="meta">run {{ overview.quality_run_id }} at {{ when(overview.quality_finished_at) }}: {{ overview.quality_checks }} checks,
    {{ overview.quality_failed }} failed ({{ overview.quality_critical_failed }} critical)</div>
    {% else %}<div class="value" data-figure="quality_status">not run</div>{% endif %}</div>
</div>
<table id="loads">
<thead><tr><th>rows read</th><th>loaded</th><th>quarantined</th><th>duplicate</th><th>scans from</th><th>scans to</th></tr></thead>
<tbody><tr><td>{{ count(overview.rows_read) }}</td><td>{{ count(overview.rows_loaded) }}</td>
<td>{{ count(overview.rows_quarantined) }}</td><td>{{ count(overview.rows_duplicate) }}</td>
<td>{{ when(overview.first_scan) }}</td><td>{{ when(overview.last_scan) }}</td></tr></tbody>
</table>
{% if overview.quality_failures %}
<table id="quality-failures">
<thead><tr><th>suite</th><th>expectation</th><th>table.column</th><th>severity</th><th>unexpected rows</th></tr></thead>
<tbody>{% for suite, expectation, table, column, severity, unexpected in overview.quality_failures %}
<tr><td>{{ suite }}</td><td>{{ expectation }}</td><td>{{ table }}{% if column %}.{{ column }}{% endif %}</td><td>{{ severity }}</td><td>{{ count(unexpected) }}</td></tr>{% endfor %}</tbody>
</table>
{% endif %}

<h2 id="table1">Table 1: patients by WHO category</h2>
<p class="note">Each patient's latest DXA assessment with a WHO category, with the laboratory results matched
to it (nearest within the lab-matching window). Continuous variables with |skewness| above {{ skew }} are shown as
median [IQR] and compared by Kruskal-Wallis, the others as mean (SD) and compared by one-way ANOVA; categorical
variables as n (% of the group's patients; patients without a value are in no level), compared by chi-square.
Cells marked suppressed hold 1 to {{ limit - 1 }} patients or would give such a cell away from the others.</p>
<table id="table-1">
<thead><tr><th>characteristic</th><th>statistic</th>{% for group in table1.groups %}<th>{{ group.replace("_", " ") }}</th>{% endfor %}<th>p</th><th>test</th></tr></thead>
<tbody>{% for row in table1.rows %}
<tr data-variable="{{ row.variable }}"><td{% if row.indent %} class="indent"{% endif %}>{{ row.label }}</td><td>{{ row.statistic }}</td>
{% for group in table1.groups %}<td data-group="{{ group }}"{% if row.cells[group] == "suppressed" %} class="suppressed"{% endif %}>{{ row.cells[group] }}</td>{% endfor %}
<td>{{ pvalue(row.p_value) }}</td><td>{{ row.test or "" }}</td></tr>{% endfor %}</tbody>
</table>

<h2 id="prevalence">Magnesium deficiency</h2>
<p class="note">Deficiency is serum magnesium below {{ mg_deficient }} mmol/L. Prevalence counts patients, once per
calendar year, through their latest assessment of that year with a matched plausible magnesium result
(<code>marts.mg_deficiency_prevalence_by_year</code>); Wilson 95% intervals.</p>
{{ charts["chart-prevalence-trend"] }}
<table id="prevalence-by-year">
<thead><tr><th>year</th><th>patients</th><th>deficient</th><th>prevalence %</th><th>95% CI low %</th><th>95% CI high %</th></tr></thead>
<tbody>{% for row in by_year %}
<tr data-year="{{ row.year }}">{% if row.suppressed %}<td>{{ row.year }}</td><td class="suppressed" colspan="5">suppressed</td>
{% else %}<td>{{ row.year }}</td><td>{{ "{:,}".format(row.n_assessed) }}</td><td>{{ "{:,}".format(row.n_deficient) }}</td>
<td>{{ "%.1f" | format(100 * row.prevalence) }}</td><td>{{ "%.1f" | format(100 * row.ci_low) }}</td><td>{{ "%.1f" | format(100 * row.ci_high) }}</td>{% endif %}</tr>{% endfor %}</tbody>
</table>
<p class="note">By WHO category and age band, all years pooled (each patient once per year, as above; assessments
without a WHO category or an age are left out).</p>
{{ charts["chart-prevalence-category-age"] }}
<table id="prevalence-by-category-age">
<thead><tr><th>WHO category</th>{% for band in age_bands %}<th>{{ band }}</th>{% endfor %}<th>all ages</th></tr></thead>
<tbody>{% for category in prevalence_categories %}
<tr data-category="{{ category }}"><td>{{ category.replace("_", " ") }}</td>{% for band in age_bands + ["all"] %}{% set cell = prevalence_grid.get((category, band)) %}
<td data-age-band="{{ band }}"{% if cell and cell.suppressed %} class="suppressed"{% endif %}>{% if not cell %}–{% elif cell.suppressed %}suppressed{% else %}{{ "%.1f" | format(100 * cell.prevalence) }}% ({{ "%.1f" | format(100 * cell.ci_low) }}–{{ "%.1f" | format(100 * cell.ci_high) }}), n = {{ "{:,}".format(cell.n_assessed) }}{% endif %}</td>{% endfor %}</tr>{% endfor %}</tbody>
</table>

<h2 id="distribution">Magnesium by WHO category</h2>
{% if charts.get("chart-magnesium-by-category") %}{{ charts["chart-magnesium-by-category"] }}
<p class="note">Box: quartiles; whiskers: the furthest values within 1.5 IQR; individual values are not drawn.
{% if distribution_left_out %}Left out (their magnesium count is suppressed in Table 1): {{ distribution_left_out | join(", ") }}.{% endif %}</p>
{% else %}<p class="note">Too few patients with a magnesium result to show.</p>{% endif %}

<h2 id="correlation">Magnesium, T-score and BMD</h2>
<table id="spearman">
<thead><tr><th>magnesium with</th><th>patients</th><th>Spearman ρ</th><th>95% CI</th><th>p</th></tr></thead>
<tbody>{% for c in correlations %}
<tr data-variable="{{ c.variable }}"><td>{{ c.label }}</td><td>{{ count(c.n) if c.n is not none else "suppressed" }}</td>
{% if c.rho is none %}<td class="suppressed" colspan="3">suppressed</td>{% else %}
<td>{{ "%.3f" | format(c.rho) }}</td><td>{{ "%.3f" | format(c.ci_low) }} to {{ "%.3f" | format(c.ci_high) }}</td><td>{{ pvalue(c.p_value) }}</td>{% endif %}</tr>{% endfor %}</tbody>
</table>
{% if charts.get("chart-magnesium-heatmap") %}{{ charts["chart-magnesium-heatmap"] }}
<p class="note">{{ heatmap_note }}</p>{% endif %}

<h2 id="roc">Magnesium alone for osteoporosis</h2>
{% if roc.auroc is not none %}
<table id="magnesium-roc">
<thead><tr><th>patients</th><th>with osteoporosis</th><th>AUC</th><th>95% CI (DeLong)</th><th>cut-off</th><th>sensitivity</th><th>specificity</th></tr></thead>
<tbody>
<tr data-cutoff="youden"><td>{{ count(roc.n) if roc.n is not none else "suppressed" }}</td><td>{{ count(roc.n_outcomes) if roc.n_outcomes is not none else "suppressed" }}</td><td>{{ "%.3f" | format(roc.auroc) }}</td>
<td>{{ "%.3f" | format(roc.ci_low) }}–{{ "%.3f" | format(roc.ci_high) }}</td><td>Youden: Mg ≤ {{ "%.3f" | format(roc.youden_cutoff) }} mmol/L</td>
<td>{{ "%.3f" | format(roc.youden_sensitivity) }}</td><td>{{ "%.3f" | format(roc.youden_specificity) }}</td></tr>
<tr data-cutoff="published"><td></td><td></td><td></td><td></td><td>Shi et al.: Mg ≤ {{ roc.published_cutoff }} mmol/L</td>
<td>{{ "%.3f" | format(roc.published_sensitivity) }}</td><td>{{ "%.3f" | format(roc.published_specificity) }}</td></tr>
</tbody></table>
{{ charts["chart-magnesium-roc"] }}
<p class="note">Outcome: densitometric osteoporosis ({{ outcome_categories | join(" or ") }}) at the same assessment; lower
magnesium means higher risk. Shi et al. (Front Med 2026) reported an AUC of {{ published_auc }} with the cut-off
{{ roc.published_cutoff }} mmol/L.</p>
{% else %}<p class="note">Too few patients with and without osteoporosis among those with a magnesium result
(fewer than {{ limit }}) for a ROC analysis.</p>{% endif %}

{{ studies }}
<h2 id="models">Risk models</h2>
{% if not models %}<p class="note">No risk model has been scored in this warehouse yet (<code>osteoreg score</code>).</p>{% endif %}
{% for model in models %}
<div class="model" id="model-{{ model.name }}">
<h3>{{ model.title }} <span class="meta">({{ model.name }} {{ model.version }}, {{ model.origin }})</span></h3>
<p class="note">{{ model.source }}</p>
{% if model.formula %}<p class="note">Formula: <code>{{ model.formula }}</code></p>{% endif %}
{% if model.odds_ratios %}<table class="odds-ratios">
<thead><tr><th>term</th><th>odds ratio</th><th>95% CI</th></tr></thead>
<tbody>{% for term, ratio, low, high in model.odds_ratios %}
<tr data-term="{{ term }}"><td>{{ term }}</td><td>{{ "%.3f" | format(ratio) }}</td><td>{% if low is not none %}{{ "%.3f" | format(low) }}–{{ "%.3f" | format(high) }}{% else %}as published{% endif %}</td></tr>{% endfor %}</tbody>
</table>{% endif %}
<table class="model-metrics">
<thead><tr><th>assessments</th><th>with osteoporosis</th><th>AUROC (out of sample)</th><th>95% CI</th><th>Brier</th><th>calibration intercept</th><th>calibration slope</th></tr></thead>
<tbody><tr><td>{{ count(model.metrics.n_assessments) }}</td><td>{{ count(model.metrics.n_outcomes) }}</td>
<td>{{ number(model.metrics.auroc) }}</td><td>{% if model.metrics.ci_low is not none %}{{ number(model.metrics.ci_low) }}–{{ number(model.metrics.ci_high) }}{% endif %}</td>
<td>{{ number(model.metrics.brier) }}</td><td>{{ number(model.metrics.calibration_intercept) }}</td><td>{{ number(model.metrics.calibration_slope) }}</td></tr></tbody>
</table>
<p class="note">{{ model.evaluation }}{% if model.limitations %} Limitations: {{ model.limitations }}{% endif %}</p>
{% if charts.get("chart-calibration-" + model.name) %}{{ charts["chart-calibration-" + model.name] }}
<p class="note">Apparent calibration of the stored scores by decile of predicted risk (deciles of fewer than {{ limit }}
assessments are not drawn); the intercept and slope above are out of sample.</p>{% endif %}
</div>
{% endfor %}

<h2 id="sources">Sources</h2>
<p class="note">Shi et al. 2026, Frontiers in Medicine: serum magnesium and osteoporosis (cut-off 0.845 mmol/L,
multivariable model). Koh LK et al., Osteoporos Int 2001;12:699-705 (OST). WHO 1994 (Kanis, Osteoporos Int
1994;4:368) for the categories; Wilson 1927 (JASA 22:209) for the intervals; DeLong et al. 1988 (Biometrics) for
AUC intervals. Every rule and threshold is a dbt var or seed of the registry, listed in the data dictionary.</p>
<script>
window.addEventListener("load", function () {
  var charts = document.querySelectorAll(".{{ chart_class }}");
  var drawn = 0;
  charts.forEach(function (chart) { if (chart.querySelector(".main-svg")) { drawn += 1; } });
  document.body.setAttribute("data-charts", String(charts.length));
  document.body.setAttribute("data-charts-rendered", String(drawn));
});
</script>
</body>
</html>
"""


def chart_html(figure: go.Figure, chart_id: str) -> str:
    return figure.to_html(full_html=False, include_plotlyjs=False, div_id=chart_id,
                          config={"displaylogo": False, "responsive": True})


def render(context: dict) -> str:
    environment = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    charts = {chart_id: Markup(chart_html(figure, chart_id))
              for chart_id, figure in context.pop("figures").items()}
    template = environment.from_string(TEMPLATE)
    return template.render(plotly_js=Markup(get_plotlyjs()), charts=charts,
                           chart_class=CHART_CLASS, **context)
