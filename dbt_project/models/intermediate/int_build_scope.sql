{{ config(materialized='table') }}
-- The patients an incremental build recomputes (contract section 9, osteoreg issue 17): every
-- patient with a raw row (result, scan, fracture, demographics) delivered by a load after the
-- last recorded build's max_load_id (audit.builds, written by etl/build.py after a build
-- succeeds), and both keys of every source reference identity resolved differently since the
-- last build (identity.int_build_identity keeps the map as that build saw it). `year_before` is
-- the calendar year of each of those patients' scans as the last build left them, read before
-- int_dxa_scans_pivoted is rebuilt, so prevalence recomputes a year a patient left too.
-- A full build (--full-refresh) recomputes everything and needs no scope: the table is empty.
{%- set identity_before = adapter.get_relation(database=this.database, schema='identity',
                                                identifier='int_build_identity') if execute else none %}
{%- set scans_before = adapter.get_relation(database=this.database, schema=this.schema,
                                             identifier='int_dxa_scans_pivoted') if execute else none %}
{%- set deliveries = ['stg_raw__patients', 'stg_raw__lab_results', 'stg_raw__dxa_results', 'stg_raw__fractures'] %}
{%- if target.type != 'duckdb' %}
-- Spark and PostgreSQL builds are whole (etl/build.py): no scope, and no ledger to read there.
select cast(null as {{ dbt.type_string() }}) as patient_key, cast(null as integer) as year_before
where 1 = 0
{%- else %}
with last_build as (
    select coalesce(max(max_load_id), -1) as since_load_id
    from {{ source('audit', 'builds') }}
    where mode in ('full', 'incremental')  -- a partial or failed build is followed by a full one
),

touched_patients as (
    {%- for model in deliveries %}
    select patient_id
    from {{ ref(model) }}
    where load_id > (select since_load_id from last_build)
    {{- ' union' if not loop.last }}
    {%- endfor %}
),

touched as (
    select patient_map.patient_key
    from {{ ref('stg_identity__patient_map') }} as patient_map
    inner join touched_patients
        on touched_patients.patient_id = patient_map.patient_id
    {%- if identity_before is not none %}
    union
    select patient_key
    from (
        (select patient_id, patient_key from {{ source('identity', 'patient_map') }}
         except
         select patient_id, patient_key from {{ identity_before }})
        union all
        (select patient_id, patient_key from {{ identity_before }}
         except
         select patient_id, patient_key from {{ source('identity', 'patient_map') }})
    ) as changed_references
    {%- endif %}
),

scope as (
    select distinct patient_key
    from touched
    where patient_key is not null
    {%- if flags.FULL_REFRESH %}
      and false
    {%- endif %}
)

select
    scope.patient_key,
    {%- if scans_before is not none %}
    cast(extract(year from scans.scan_date) as integer) as year_before
    {%- else %}
    cast(null as integer) as year_before
    {%- endif %}
from scope
{%- if scans_before is not none %}
left join {{ scans_before }} as scans
    on scans.patient_key = scope.patient_key
{%- endif %}
{%- endif %}
