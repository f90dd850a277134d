-- One row per delivered lab result version, as sent, with the unit spelling key of contract 7.
select
    patient_id,
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
    load_id,
    source_row,
    source_file
from {{ source('raw', 'lab_results') }}
