-- Patients as resolved by identity (contract 2a): `patient_id` is the person a source
-- reference stands for, so one patient sent by several formats or hospitals is one patient.
-- One row per delivered patient version: names and types for the layers above.
select
    coalesce(refs.person_id, delivered.patient_id) as patient_id,
    {{ sex_from_source('sex') }} as sex,
    sex as sex_as_sent,
    {{ dbt.safe_cast('birth_date', api.Column.translate_type('date')) }} as birth_date,
    lower(trim(menopausal_status)) as menopausal_status,
    ethnicity,
    load_id,
    source_row,
    source_file
from {{ source('raw', 'patients') }} as delivered
left join {{ source('identity', 'patient_references') }} as refs
    on refs.patient_id = delivered.patient_id
