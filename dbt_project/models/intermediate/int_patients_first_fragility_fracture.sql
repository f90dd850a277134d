-- Per patient, the earliest current fragility fracture: an assessment has a fragility fracture
-- on or before its scan date exactly when this date is on or before the scan (contract 6).
-- Identity: the FHIR resource id when present; else patient + fracture date + site.
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
        where='versions.is_fragility',
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
