-- One row per patient key: per field, the latest delivery that says something (contract 2:
-- re-deliveries win by (load_id, source_row)). A source that does not carry a field (an HL7 PID
-- has no menopausal status, a FHIR Patient may have no gender) does not blank what an earlier
-- export said. Keys without a patient row still appear, with sex `unknown`, so every fact's
-- patient_key has a dimension row. `undated_menopausal_status` is the latest status delivered
-- without a date (contract 6: the fallback for scans before any dated status).
{% set latest_known = "partition by patient_id order by case when {col} is null then 1 else 0 end, load_id desc, source_row desc rows between unbounded preceding and unbounded following" %}
with deliveries as (
    select
        patient_id,
        case when sex <> 'unknown' then sex end as sex,
        birth_date,
        birth_date_precision,
        birth_date_earliest,
        birth_date_latest,
        menopausal_status,
        case when menopausal_status_date is null then menopausal_status end as undated_menopausal_status,
        load_id,
        source_row
    from {{ ref('stg_raw__patients') }}
),

latest_known as (
    select
        patient_id,
        first_value(sex) over ({{ latest_known.format(col='sex') }}) as sex,
        -- the birth date's three columns come from one delivery: a later year-only date does
        -- not blank an earlier whole one's precision, and vice versa
        first_value(birth_date) over ({{ latest_known.format(col='birth_date_earliest') }}) as birth_date,
        first_value(birth_date_precision) over ({{ latest_known.format(col='birth_date_earliest') }}) as birth_date_precision,
        first_value(birth_date_earliest) over ({{ latest_known.format(col='birth_date_earliest') }}) as birth_date_earliest,
        first_value(birth_date_latest) over ({{ latest_known.format(col='birth_date_earliest') }}) as birth_date_latest,
        first_value(menopausal_status) over ({{ latest_known.format(col='menopausal_status') }}) as menopausal_status,
        first_value(undated_menopausal_status) over ({{ latest_known.format(col='undated_menopausal_status') }}) as undated_menopausal_status,
        row_number() over (partition by patient_id order by load_id desc, source_row desc) as delivery_rank
    from deliveries
)

select
    patient_map.patient_key,
    coalesce(latest_known.sex, 'unknown') as sex,
    latest_known.birth_date,
    latest_known.birth_date_precision,
    latest_known.birth_date_earliest,
    latest_known.birth_date_latest,
    latest_known.menopausal_status,
    latest_known.undated_menopausal_status
from {{ ref('stg_identity__patient_map') }} as patient_map
left join latest_known
    on latest_known.patient_id = patient_map.patient_id
    and latest_known.delivery_rank = 1
