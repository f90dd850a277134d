-- The rules this build used (contract section 6): one row per var of the rule catalog, with the
-- value dbt resolved for it (`--vars` or the default in dbt_project.yml) as JSON text. The names
-- come from the seed at run time, so a catalog row without a var fails the build ("Required
-- var ... not found"); tests/dbt_project/test_rules_in_effect.py checks the other direction.
{%- set names = [] %}
{%- if execute %}
{%- set names = run_query("select rule_name from " ~ ref('rule_catalog') ~ " order by rule_name").columns[0].values() %}
{%- endif %}
with used as (
    {%- for name in names %}
    select '{{ name }}' as rule_name, '{{ tojson(var(name)) | replace("'", "''") }}' as value
    {{- ' union all' if not loop.last }}
    {%- else %}
    select cast(null as {{ dbt.type_string() }}) as rule_name, cast(null as {{ dbt.type_string() }}) as value where false
    {%- endfor %}
),

loads as (
    select max(load_id) as max_load_id
    from {{ source('audit', 'loads') }}
    where status = 'loaded'
)

select
    catalog.rule_name,
    used.value,
    catalog.unit,
    catalog.source,
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as timestamp) as built_at,
    '{{ invocation_id }}' as dbt_invocation_id,
    nullif('{{ env_var("OSTEOREG_VERSION", "") }}', '') as osteoreg_version,
    '{{ dbt_version }}' as dbt_version,
    loads.max_load_id
from {{ ref('rule_catalog') }} as catalog
inner join used
    on used.rule_name = catalog.rule_name
cross join loads
