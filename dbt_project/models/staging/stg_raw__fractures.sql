-- Patients as resolved by identity (contract 2a): `patient_id` is the person a source
-- reference stands for, so one patient sent by several formats or hospitals is one patient.
-- One row per delivered fracture version.
select
    coalesce(refs.person_id, delivered.patient_id) as patient_id,
    {{ dbt.safe_cast('fracture_date', api.Column.translate_type('date')) }} as fracture_date,
    lower(trim(site)) as site,
    fragility as is_fragility,
    code,
    code_system,
    upper(trim(status)) as status,
    result_id,
    reported_at,
    version_seq,
    load_id,
    source_row,
    source_file
from {{ source('raw', 'fractures') }} as delivered
left join {{ source('identity', 'patient_references') }} as refs
    on refs.patient_id = delivered.patient_id
