{#- Schemas are exactly `staging`, `intermediate`, `marts` and `terminology` (no target prefix):
    analysts and the Great Expectations suites name them directly (contract section 6). -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}
