{#- Pre-scan lab matching (osteoreg issue 15): per anchor (an assessment's scan, or a patient's
    latest lab panel) and analyte, the latest plausible serum/plasma result collected on or
    before the anchor date and at most `window_days` before it; ties go to the later collection
    time, then to the later delivered raw row. Nothing collected after the anchor is ever
    matched, so a model's predictors cannot be consequences of its outcome. Returns
    `anchor_key, analyte, value_si, days_before` (integer >= 0).

    Whole-blood results (`specimen` whole_blood, from seed analyte_codes) never match: the
    thresholds and models are serum/plasma ones (contract 5), the same rule as `nearest_lab`. -#}
{% macro latest_lab_before(anchors, anchor_key, anchor_date, labs, window_days) -%}
with candidates as (
    select
        anchors.{{ anchor_key }} as anchor_key,
        labs.analyte,
        labs.value_si,
        labs.collected_at,
        labs.load_id,
        labs.source_row,
        {{ days_between('labs.collected_date', 'anchors.' ~ anchor_date) }} as days_before
    from {{ anchors }} as anchors
    inner join ({{ model_lab_results(labs) }}) as labs
        on labs.patient_key = anchors.patient_key
       and labs.collected_date <= anchors.{{ anchor_date }}
       and labs.collected_date >= {{ days_after('anchors.' ~ anchor_date, -window_days) }}
),

ranked as (
    select
        candidates.*,
        row_number() over (
            partition by anchor_key, analyte
            order by days_before, collected_at desc, load_id desc, source_row desc
        ) as match_rank
    from candidates
)

select anchor_key, analyte, value_si, cast(days_before as integer) as days_before
from ranked
where match_rank = 1
{%- endmacro %}

{#- The results a model may read: plausible, serum/plasma, of the analytes of lab_analyte_columns. -#}
{% macro model_lab_results(labs) -%}
select labs.*
from {{ labs }} as labs
where labs.is_plausible
  and (labs.specimen is null or labs.specimen <> 'whole_blood')
  and labs.analyte in ({% for analyte, value_column, prefix in lab_analyte_columns() %}'{{ analyte }}'{{ ', ' if not loop.last }}{% endfor %})
{%- endmacro %}

{#- The analytes matched to scans, as (analyte, value column, prefix): fct_deficiency_flags, fct_prescan_labs and fct_latest_lab_panel. -#}
{% macro lab_analyte_columns() -%}
{{ return([
    ('magnesium', 'mg_mmol_l', 'mg'),
    ('vitamin_d_25oh', 'vitd_nmol_l', 'vitd'),
    ('calcium', 'calcium_mmol_l', 'calcium'),
    ('albumin', 'albumin_g_l', 'albumin'),
    ('phosphate', 'phosphate_mmol_l', 'phosphate'),
    ('pth', 'pth_ng_l', 'pth'),
    ('crp', 'crp_mg_l', 'crp'),
    ('beta_ctx', 'beta_ctx_ng_ml', 'beta_ctx'),
    ('p1np', 'p1np_ng_ml', 'p1np'),
]) }}
{%- endmacro %}

{#- One row per anchor: each model analyte's value and its days before the anchor. -#}
{% macro pivot_latest_labs(matches) -%}
select
    anchor_key,
    {%- for analyte, value_column, prefix in lab_analyte_columns() %}
    max(case when analyte = '{{ analyte }}' then value_si end) as {{ value_column }},
    max(case when analyte = '{{ analyte }}' then days_before end) as {{ prefix }}_days_before{{ ',' if not loop.last }}
    {%- endfor %}
from {{ matches }}
group by anchor_key
{%- endmacro %}
