-- One row per delivered patient version: names and types for the layers above.
select
    patient_id,
    {{ sex_from_source('sex') }} as sex,
    sex as sex_as_sent,
    {{ dbt.safe_cast('birth_date', api.Column.translate_type('date')) }} as birth_date,
    lower(trim(menopausal_status)) as menopausal_status,
    menopausal_status_date,
    ethnicity,
    load_id,
    source_row,
    source_file
from {{ source('raw', 'patients') }}
