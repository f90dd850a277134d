{#- The constructs whose spelling differs between the engines the project runs on (contract
    section 8: DuckDB, Spark, PostgreSQL), each behind adapter.dispatch. The duckdb__ variant is
    what the models always rendered on DuckDB, so the DuckDB build is unchanged. -#}

{#- A 64-bit float type: DuckDB and Spark say `double`; PostgreSQL has `double precision`
    (dbt.type_float() is 32-bit `float` on Spark). -#}
{% macro type_double() -%}
{{ return(adapter.dispatch('type_double', 'osteoreg')()) }}
{%- endmacro %}
{% macro default__type_double() -%}double{%- endmacro %}
{% macro postgres__type_double() -%}double precision{%- endmacro %}

{#- Round a double to `digits` decimals the way DuckDB does (round(x * 10^d) / 10^d, halves away
    from zero on the scaled double), so every engine stores the same SI value. Spark's round
    works on the decimal text of the scaled double (the same integer); PostgreSQL has no
    round(double, int) and its round(double) goes to the even neighbour, so it is spelt out. -#}
{% macro round_double(expr, digits) -%}
{{ return(adapter.dispatch('round_double', 'osteoreg')(expr, digits)) }}
{%- endmacro %}
{% macro default__round_double(expr, digits) -%}
round({{ expr }}, {{ digits }})
{%- endmacro %}
{% macro spark__round_double(expr, digits) -%}
(round(({{ expr }}) * {{ 10 ** (digits | int) }}D, 0) / {{ 10 ** (digits | int) }}D)
{%- endmacro %}
{% macro postgres__round_double(expr, digits) -%}
(sign(({{ expr }})::double precision) * floor(abs(({{ expr }})::double precision) * {{ 10 ** (digits | int) }}::double precision + 0.5::double precision)
 / {{ 10 ** (digits | int) }}::double precision)
{%- endmacro %}

{#- `date_expr` moved by `days` days (a date on every engine; an empty date stays empty, where
    dbt-spark's dateadd raises). -#}
{% macro days_after(date_expr, days) -%}
{{ return(adapter.dispatch('days_after', 'osteoreg')(date_expr, days)) }}
{%- endmacro %}
{% macro default__days_after(date_expr, days) -%}
{{ dbt.dateadd('day', days, date_expr) }}
{%- endmacro %}
{% macro spark__days_after(date_expr, days) -%}
date_add({{ date_expr }}, {{ days }})
{%- endmacro %}
{% macro postgres__days_after(date_expr, days) -%}
(cast({{ date_expr }} as date) + ({{ days }}))
{%- endmacro %}

{#- `date_expr` moved by `years` calendar years (29 February to 28 February, as DuckDB does). -#}
{% macro years_after(date_expr, years) -%}
{{ return(adapter.dispatch('years_after', 'osteoreg')(date_expr, years)) }}
{%- endmacro %}
{% macro default__years_after(date_expr, years) -%}
{{ dbt.dateadd('year', years, date_expr) }}
{%- endmacro %}
{% macro spark__years_after(date_expr, years) -%}
add_months({{ date_expr }}, 12 * ({{ years }}))
{%- endmacro %}
{% macro postgres__years_after(date_expr, years) -%}
cast(cast({{ date_expr }} as date) + interval '1 year' * ({{ years }}) as date)
{%- endmacro %}

{#- Whole days from `start_date` to `end_date` (negative when end is earlier). -#}
{% macro days_between(start_date, end_date) -%}
{{ return(adapter.dispatch('days_between', 'osteoreg')(start_date, end_date)) }}
{%- endmacro %}
{% macro default__days_between(start_date, end_date) -%}
{{ dbt.datediff(start_date, end_date, 'day') }}
{%- endmacro %}
{% macro spark__days_between(start_date, end_date) -%}
datediff({{ end_date }}, {{ start_date }})
{%- endmacro %}
{% macro postgres__days_between(start_date, end_date) -%}
(cast({{ end_date }} as date) - cast({{ start_date }} as date))
{%- endmacro %}
