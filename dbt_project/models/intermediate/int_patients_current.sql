-- One row per patient key: the latest delivered demographics (contract 2: re-deliveries win by
-- (load_id, source_row)). Keys without a patient row still appear, with sex `unknown`, so every
-- fact's patient_key has a dimension row.
with latest_delivery as (
    select *
    from (
        select
            patients.*,
            row_number() over (
                partition by patients.patient_id
                order by patients.load_id desc, patients.source_row desc
            ) as delivery_rank
        from {{ ref('stg_raw__patients') }} as patients
    ) as ranked
    where delivery_rank = 1
)

select
    patient_map.patient_key,
    coalesce(latest_delivery.sex, 'unknown') as sex,
    latest_delivery.birth_date,
    latest_delivery.menopausal_status
from {{ ref('stg_identity__patient_map') }} as patient_map
left join latest_delivery
    on latest_delivery.patient_id = patient_map.patient_id
