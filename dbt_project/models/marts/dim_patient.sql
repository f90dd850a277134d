{{ incremental_by_build_scope() }}
-- One row per pseudonymous patient (contract 6): no source id, no name, birth year only.
select
    patient_key,
    sex,
    cast(extract(year from birth_date_earliest) as integer) as birth_year,
    birth_date_precision,
    menopausal_status
from {{ ref('int_patients_current') }}
{%- if is_incremental() %}
where {{ in_build_scope('patient_key') }}
{%- endif %}
