{{ incremental_by_build_scope() }}
-- One row per pseudonymous patient (contract 6): no source id, no name, birth year only.
select
    patient_key,
    sex,
    cast(extract(year from birth_date) as integer) as birth_year,
    menopausal_status
from {{ ref('int_patients_current') }}
{%- if is_incremental() %}
where {{ in_build_scope('patient_key') }}
{%- endif %}
