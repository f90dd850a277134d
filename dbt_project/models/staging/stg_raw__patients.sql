-- One row per delivered patient version: names and types for the layers above. Sex is mapped
-- through seed category_spellings (contract 2: F/M or female/male in any case, else unknown).
select
    patients.patient_id,
    coalesce(sexes.value, 'unknown') as sex,
    patients.sex as sex_as_sent,
    {{ dbt.safe_cast('patients.birth_date', api.Column.translate_type('date')) }} as birth_date,
    lower(trim(patients.menopausal_status)) as menopausal_status,
    patients.ethnicity,
    patients.load_id,
    patients.source_row,
    patients.source_file
from {{ source('raw', 'patients') }} as patients
left join {{ ref('category_spellings') }} as sexes
    on sexes.category = 'sex'
   and sexes.spelling = lower(trim(patients.sex))
