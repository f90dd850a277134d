{#- Seeds on Spark: dbt-spark's session method pastes seed values into its INSERT without
    escaping them, so a text with an apostrophe (`Eurostat's`) breaks the statement. Here every
    value is written as a Spark literal (backslash escapes, as Spark's non-ANSI parser reads
    them). Overrides dbt-spark's spark__load_csv_rows: the root project's variant wins the dispatch. -#}
{% macro spark__load_csv_rows(model, agate_table) %}
  {%- set column_override = model['config'].get('column_types', {}) -%}
  {%- set sql -%}
    insert into {{ this.render() }} values
    {% for row in agate_table.rows -%}
      ({%- for col_name in agate_table.column_names -%}
        {%- set inferred_type = adapter.convert_type(agate_table, loop.index0) -%}
        {%- set type = column_override.get(col_name, inferred_type) -%}
        cast({{ spark_seed_literal(row[loop.index0]) }} as {{ type }}){{ ', ' if not loop.last }}
      {%- endfor -%}){{ ',' if not loop.last }}
    {% endfor %}
  {%- endset -%}
  {%- do adapter.add_query(sql, abridge_sql_log=True) -%}
  {{ return(sql) }}
{% endmacro %}

{% macro spark_seed_literal(value) -%}
  {%- if value is none -%}null
  {%- elif value is sameas true -%}true
  {%- elif value is sameas false -%}false
  {%- elif value is number -%}{{ value }}
  {%- else -%}'{{ (value | string) | replace('\\', '\\\\') | replace("'", "\\'") }}'
  {%- endif -%}
{%- endmacro %}
