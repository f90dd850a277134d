{#- Incremental builds (contract section 9; osteoreg issue 17). A build after new loads recomputes
    only the patients those loads touch: model int_build_scope lists them (and the years of their
    scans before the build, int_build_scope_years adds the years after). A model made incremental
    here is rebuilt for its scope by deleting every row of the scope's keys and inserting the
    recomputed ones: dbt's own delete+insert deletes only the keys present in the new rows, so a
    patient whose last result was deleted (entered in error) would keep a stale row.
    Corrections reach arbitrarily old results, so time windows (microbatch) are wrong here.

    etl/build.py decides between a full and an incremental build and passes --full-refresh for a
    full one; with it, every model here is rebuilt whole and the scope is empty.

    Engines: default__build_scope_sql is a delete then an insert (DuckDB, PostgreSQL). An engine
    without row deletes (Spark on Parquet) supplies its own `<adapter>__build_scope_sql`, e.g. an
    insert_overwrite of the scope's partitions. -#}

{#- In a model's header instead of `config(materialized='table')`: incremental by `key`, whose
    scope is the `key` column of model `scope`. The ref here records the dependency at parse time,
    so the scope is built before the model. -#}
{#- On Spark and PostgreSQL every build is whole (etl/build.py): the models are plain tables there,
    so no engine is asked for a strategy it does not have (dbt-spark refuses unknown ones even on
    a full refresh). -#}
{% macro incremental_by_build_scope(key='patient_key', scope='int_build_scope') -%}
{%- do ref(scope) -%}
{%- if target.type == 'duckdb' -%}
{{ config(materialized='incremental', incremental_strategy='build_scope', unique_key=key,
          build_scope=scope, on_schema_change='fail') }}
{%- else -%}
{{ config(materialized='table') }}
{%- endif -%}
{%- endmacro %}

{#- A predicate on `column`: its value is in the build's scope (use inside is_incremental()). -#}
{% macro in_build_scope(column, key='patient_key', scope='int_build_scope') -%}
{{ column }} in (select {{ key }} from {{ ref(scope) }})
{%- endmacro %}

{#- dbt's hook for a custom incremental strategy named `build_scope`. -#}
{% macro get_incremental_build_scope_sql(arg_dict) -%}
{{ return(adapter.dispatch('build_scope_sql', 'osteoreg')(arg_dict)) }}
{%- endmacro %}

{% macro default__build_scope_sql(arg_dict) -%}
{%- set key = arg_dict['unique_key'] -%}
{%- set scope = ref(config.get('build_scope')) -%}
{%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
delete from {{ arg_dict['target_relation'] }}
where {{ key }} in (select {{ key }} from {{ scope }});

insert into {{ arg_dict['target_relation'] }} ({{ columns }})
select {{ columns }} from {{ arg_dict['temp_relation'] }}
{%- endmacro %}
