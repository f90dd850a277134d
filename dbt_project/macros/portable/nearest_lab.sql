{#- Lab-to-scan matching (contract 6): per assessment and analyte, the plausible result nearest
    (never a whole-blood specimen: contract 5)
    to the scan date within `window_days` either side; ties go to the later collection, then to
    the later delivered raw row (load_id, source_row) so the choice is deterministic. Returns one row per match with
    `days_from_scan` (positive: collected after the scan).

    default__: a standard-SQL range join ranked by a window function (any adapter). -#}
{% macro nearest_lab_per_scan(scans, labs, window_days) -%}
{{ return(adapter.dispatch('nearest_lab_per_scan', 'osteoreg')(scans, labs, window_days)) }}
{%- endmacro %}

{% macro default__nearest_lab_per_scan(scans, labs, window_days) -%}
with candidates as (
    select
        scans.assessment_id,
        scans.patient_key,
        scans.scan_date,
        labs.analyte,
        labs.load_id,
        labs.source_row,
        labs.collected_at,
        labs.collected_date,
        labs.value_si,
        {{ days_between('scans.scan_date', 'labs.collected_date') }} as days_from_scan
    from {{ scans }} as scans
    inner join {{ labs }} as labs
        on labs.patient_key = scans.patient_key
       and labs.collected_date >= {{ days_after('scans.scan_date', -window_days) }}
       and labs.collected_date <= {{ days_after('scans.scan_date', window_days) }}
    where labs.is_plausible
      -- contract 5: the thresholds are serum/plasma ones; whole-blood results never match
      and (labs.specimen is null or labs.specimen <> 'whole_blood')
),

ranked as (
    select
        candidates.*,
        row_number() over (
            partition by assessment_id, analyte
            order by
                case when days_from_scan < 0 then -days_from_scan else days_from_scan end,
                collected_at desc,
                load_id desc,
                source_row desc
        ) as match_rank
    from candidates
)

select
    assessment_id,
    patient_key,
    scan_date,
    analyte,
    load_id,
    source_row,
    collected_at,
    collected_date,
    value_si,
    days_from_scan
from ranked
where match_rank = 1
{%- endmacro %}
