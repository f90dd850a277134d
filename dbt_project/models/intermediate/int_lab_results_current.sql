-- The current final version of each tracked lab result (contract 5). Identity: the FHIR
-- resource id when present; else accession + code; else patient + code + collection time.
-- Tracked means the LOINC code is in seed analyte_codes as of this build (not raw.is_tracked,
-- which says what the seed held at load), so a code added to the seed reaches earlier loads.
with current_versions as (
    {{ current_final_versions(
        ref('stg_raw__lab_results'),
        ref('result_statuses'),
        lab_result_identity_columns(),
        where_after="loinc_code in (select tracked.loinc_code from " ~ ref('analyte_codes') ~ " as tracked)",
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
    current_versions.result_key,
    current_versions.load_id,
    current_versions.source_row
from current_versions
inner join {{ ref('stg_identity__patient_map') }} as patient_map
    on patient_map.patient_id = current_versions.patient_id
