-- The current final version of each tracked lab result (contract 5). Identity: the FHIR
-- resource id when present; else accession + code; else patient + code + collection time.
with current_versions as (
    {{ current_final_versions(
        ref('stg_raw__lab_results'),
        ref('result_statuses'),
        [
            'versions.patient_id',
            'versions.result_id',
            'case when versions.result_id is null then versions.accession_id end',
            'case when versions.result_id is null then coalesce(versions.loinc_code, versions.code) end',
            'case when versions.result_id is null and versions.accession_id is null then versions.collected_at end',
        ],
        where_after='is_tracked',
    ) }}
)

select
    patient_map.patient_key,
    current_versions.collected_at,
    current_versions.collected_date,
    current_versions.loinc_code,
    current_versions.code,
    current_versions.value_num,
    current_versions.value_comparator,
    current_versions.unit_as_sent,
    current_versions.unit_key,
    {{ current_status('current_versions') }} as status,
    current_versions.result_id,
    current_versions.load_id,
    current_versions.source_row
from current_versions
inner join {{ ref('stg_identity__patient_map') }} as patient_map
    on patient_map.patient_id = current_versions.patient_id
