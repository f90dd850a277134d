-- One row per delivered fracture version.
select
    patient_id,
    {{ dbt.safe_cast('fracture_date', api.Column.translate_type('date')) }} as fracture_date,
    lower(trim(site)) as site,
    fragility as is_fragility,
    code,
    code_system,
    upper(trim(status)) as status,
    result_id,
    load_id,
    source_row,
    source_file
from {{ source('raw', 'fractures') }}
