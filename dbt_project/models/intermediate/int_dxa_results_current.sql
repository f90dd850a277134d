-- The current final version of each DXA site result (contract 5), with a plausibility flag per
-- measure from seed `plausibility_limits` (contract 5: e.g. a T-score below -8 is implausible).
-- Identity: the FHIR resource id when present; else patient + scan date + site + side. The source
-- patient id stays until the pivot, which maps 5x fewer rows to keys.
with current_versions as (
    {{ current_final_versions(
        ref('stg_raw__dxa_results'),
        ref('result_statuses'),
        [
            'versions.patient_id',
            'versions.result_id',
            'case when versions.result_id is null then versions.scan_date end',
            'case when versions.result_id is null then versions.site end',
            'case when versions.result_id is null then versions.side end',
        ],
    ) }}
),

limits as (
    select
        {%- for measure in ['t_score', 'z_score', 'bmd_g_cm2', 'height_cm', 'weight_kg'] %}
        max(case when measure = '{{ measure }}' then low end) as {{ measure }}_low,
        max(case when measure = '{{ measure }}' then high end) as {{ measure }}_high{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ ref('plausibility_limits') }}
)

select
    current_versions.patient_id,
    current_versions.scan_date,
    current_versions.site,
    current_versions.side,
    {%- for measure in ['t_score', 'z_score', 'bmd_g_cm2', 'height_cm', 'weight_kg'] %}
    current_versions.{{ measure }},
    case
        when current_versions.{{ measure }} is null then null
        when current_versions.{{ measure }} < limits.{{ measure }}_low
          or current_versions.{{ measure }} > limits.{{ measure }}_high then false
        else true
    end as {{ measure }}_is_plausible,
    {%- endfor %}
    current_versions.manufacturer,
    {{ current_status('current_versions') }} as status,
    current_versions.result_id,
    current_versions.load_id,
    current_versions.source_row
from current_versions
cross join limits
