-- Per patient, the earliest current fragility fracture: an assessment has a fragility fracture
-- on or before its scan date exactly when this date is on or before the scan (contract 6).
-- Identity: the FHIR resource id when present; else patient + fracture date + site. Fragility is
-- filtered after the current version is chosen (contract 5: a re-sent fracture whose fragility
-- changed replaces the earlier version before any rule reads it).
with current_versions as (
    {{ current_final_versions(
        ref('stg_raw__fractures'),
        ref('result_statuses'),
        [
            'versions.patient_id',
            'versions.result_id',
            'case when versions.result_id is null then versions.fracture_date end',
            'case when versions.result_id is null then versions.site end',
        ],
        where_after='is_fragility',
    ) }}
)

select
    patient_map.patient_key,
    min(current_versions.fracture_date) as first_fragility_fracture_date,
    count(*) as n_fragility_fractures
from current_versions
inner join {{ ref('stg_identity__patient_map') }} as patient_map
    on patient_map.patient_id = current_versions.patient_id
group by patient_map.patient_key
