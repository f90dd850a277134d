-- Patients as resolved by identity (contract 2a): `patient_id` is the person a source
-- reference stands for, so one patient sent by several formats or hospitals is one patient.
-- One row per delivered lab result version, as sent, with the unit spelling key of contract 7.
select
    coalesce(refs.person_id, delivered.patient_id) as patient_id,
    collected_at,
    {{ dbt.cast('collected_at', api.Column.translate_type('date')) }} as collected_date,
    collected_offset,
    code,
    code_system,
    loinc_code,
    value_text,
    value_num,
    value_comparator,
    unit as unit_as_sent,
    lower(replace(trim(unit), ' ', '')) as unit_key,
    upper(trim(status)) as status,
    accession_id,
    result_id,
    result_key,
    is_tracked,
    reported_at,
    version_seq,
    load_id,
    source_row,
    source_file
from {{ source('raw', 'lab_results') }} as delivered
left join {{ source('identity', 'patient_references') }} as refs
    on refs.patient_id = delivered.patient_id
