{#- DXA categories (registry contract section 6). Thresholds are vars in dbt_project.yml. -#}

{#- WHO 1994: normal T >= -1.0; osteopenia -2.5 < T < -1.0; osteoporosis T <= -2.5;
    severe_osteoporosis = osteoporosis with a fragility fracture on or before the scan date. -#}
{% macro who_category(min_t_score, has_fragility_fracture) -%}
case
    when {{ min_t_score }} is null then null
    when {{ min_t_score }} <= {{ var('who_osteoporosis_t_score_max') }}
         and {{ has_fragility_fracture }} then 'severe_osteoporosis'
    when {{ min_t_score }} <= {{ var('who_osteoporosis_t_score_max') }} then 'osteoporosis'
    when {{ min_t_score }} < {{ var('who_normal_t_score_min') }} then 'osteopenia'
    else 'normal'
end
{%- endmacro %}

{#- ISCD 2019: WHO categories for age >= 50 or postmenopausal women; otherwise by Z-score
    (Z <= -2.0 below, else within the expected range for age). Empty when the age (or the
    Z-score) needed to decide is unknown. -#}
{#- ISCD 2019 / contract section 6: the WHO T-score criteria apply from var
    iscd_who_applies_from_age and to postmenopausal women; empty when neither is known. -#}
{% macro who_criteria_apply(age_at_scan, sex, menopausal_status) -%}
({{ age_at_scan }} >= {{ var('iscd_who_applies_from_age') }}
 or ({{ sex }} = 'F' and {{ menopausal_status }} = 'post'))
{%- endmacro %}

{% macro iscd_category(who_category, age_at_scan, sex, menopausal_status, min_z_score) -%}
case
    when {{ who_criteria_apply(age_at_scan, sex, menopausal_status) }} then {{ who_category }}
    when {{ age_at_scan }} is null or {{ min_z_score }} is null then null
    when {{ min_z_score }} <= {{ var('iscd_z_score_max_below_expected') }} then 'below_expected_range_for_age'
    else 'within_expected_range_for_age'
end
{%- endmacro %}

{#- Contract section 6: the lowest of the given columns, ignoring empty ones (portable: no
    reliance on how an engine's LEAST treats NULL). -#}
{% macro lowest_of(columns) -%}
case
{%- for column in columns %}
    when {{ column }} is not null
    {%- for other in columns[loop.index:] %}
         and ({{ other }} is null or {{ column }} <= {{ other }})
    {%- endfor %} then {{ column }}
{%- endfor %}
end
{%- endmacro %}

{#- The label of the lowest column (first listed wins a tie), to name `min_t_score_site`. -#}
{% macro label_of_lowest(columns_to_labels) -%}
{%- set columns = columns_to_labels | map(attribute=0) | list -%}
case
{%- for column, label in columns_to_labels %}
    when {{ column }} is not null
    {%- for other in columns[loop.index:] %}
         and ({{ other }} is null or {{ column }} <= {{ other }})
    {%- endfor %} then '{{ label }}'
{%- endfor %}
end
{%- endmacro %}
