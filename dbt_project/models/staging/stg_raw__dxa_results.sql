-- Patients as resolved by identity (contract 2a): `patient_id` is the person a source
-- reference stands for, so one patient sent by several formats or hospitals is one patient.
-- One row per delivered DXA site result version (patient x scan date x site x side).
-- The manufacturer is free text from the sender (it can hold anything, a name or an id): it is
-- mapped to seed dxa_manufacturers by its whole spelling, else its first word, else `other`, and
-- the text as sent goes no further than raw.
select
    coalesce(refs.person_id, delivered.patient_id) as patient_id,
    {{ dbt.safe_cast('scan_date', api.Column.translate_type('date')) }} as scan_date,
    lower(trim(site)) as site,
    lower(trim(side)) as side,
    t_score,
    z_score,
    bmd_g_cm2,
    bmc_g,
    area_cm2,
    case when {{ dxa_manufacturer_key('delivered.manufacturer') }} <> ''
         then coalesce(by_spelling.manufacturer, by_first_word.manufacturer, 'other') end as manufacturer,
    height_cm,
    weight_kg,
    lower(trim(menopausal_status)) as menopausal_status,
    upper(trim(status)) as status,
    result_id,
    reported_at,
    version_seq,
    load_id,
    source_row,
    source_file
from {{ source('raw', 'dxa_results') }} as delivered
left join {{ source('identity', 'patient_references') }} as refs
    on refs.patient_id = delivered.patient_id
left join {{ ref('dxa_manufacturers') }} as by_spelling
    on by_spelling.spelling = {{ dxa_manufacturer_key('delivered.manufacturer') }}
left join {{ ref('dxa_manufacturers') }} as by_first_word
    on by_first_word.spelling = {{ dbt.split_part(dxa_manufacturer_key('delivered.manufacturer'), "' '", 1) }}
