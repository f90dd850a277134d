{#- A date as YYYYMMDD text (for readable keys such as `assessment_id`). DuckDB formats it
    directly; the default is standard SQL arithmetic any adapter runs. -#}
{% macro yyyymmdd(date_expr) -%}
{{ return(adapter.dispatch('yyyymmdd', 'osteoreg')(date_expr)) }}
{%- endmacro %}

{% macro default__yyyymmdd(date_expr) -%}
cast(extract(year from {{ date_expr }}) * 10000 + extract(month from {{ date_expr }}) * 100
     + extract(day from {{ date_expr }}) as {{ dbt.type_string() }})
{%- endmacro %}

{% macro duckdb__yyyymmdd(date_expr) -%}
strftime({{ date_expr }}, '%Y%m%d')
{%- endmacro %}

{% macro spark__yyyymmdd(date_expr) -%}
date_format({{ date_expr }}, 'yyyyMMdd')
{%- endmacro %}

{% macro postgres__yyyymmdd(date_expr) -%}
to_char({{ date_expr }}, 'YYYYMMDD')
{%- endmacro %}
