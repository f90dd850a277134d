-- Patients as resolved by identity (contract 2a): `patient_id` is the person a source
-- reference stands for, so one patient sent by several formats or hospitals is one patient.
-- One row per delivered patient version: names and types for the layers above. Sex is mapped
-- through seed category_spellings (contract 2: F/M or female/male in any case, else unknown).
select
    coalesce(refs.person_id, patients.patient_id) as patient_id,
    coalesce(sexes.value, 'unknown') as sex,
    patients.sex as sex_as_sent,
    -- A partial birth date (contract 2, 3, 4: `1960`, `1960-01`) is a range of possible dates;
    -- raw keeps its first day and its precision. `birth_date` is the date only when whole. A
    -- date without a precision is whole (rows written before migration 0010, or by a writer
    -- that sends whole dates only).
    case when coalesce(patients.birth_date_precision, 'day') = 'day'
        then {{ dbt.safe_cast('patients.birth_date', api.Column.translate_type('date')) }}
    end as birth_date,
    case when patients.birth_date is not null
        then coalesce(patients.birth_date_precision, 'day')
    end as birth_date_precision,
    {{ dbt.safe_cast('patients.birth_date', api.Column.translate_type('date')) }} as birth_date_earliest,
    case patients.birth_date_precision
        when 'year' then {{ dbt.last_day('patients.birth_date', 'year') }}
        when 'month' then {{ dbt.last_day('patients.birth_date', 'month') }}
        else {{ dbt.safe_cast('patients.birth_date', api.Column.translate_type('date')) }}
    end as birth_date_latest,
    lower(trim(patients.menopausal_status)) as menopausal_status,
    patients.menopausal_status_date,
    patients.ethnicity,
    patients.load_id,
    patients.source_row,
    patients.source_file
from {{ source('raw', 'patients') }} as patients
left join {{ source('identity', 'patient_references') }} as refs
    on refs.patient_id = patients.patient_id
left join {{ ref('category_spellings') }} as sexes
    on sexes.category = 'sex'
   and sexes.spelling = lower(trim(patients.sex))
