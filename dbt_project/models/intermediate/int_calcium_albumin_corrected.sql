-- Per assessment, the matched total calcium corrected for albumin (Payne) when an albumin result
-- was collected on the same day as that calcium (contract 6). Several albumins that day: the
-- latest collected counts.
with matched_calcium as (
    select
        assessment_id,
        patient_key,
        collected_date,
        value_si as calcium_mmol_l
    from {{ ref('int_labs_matched_to_scans') }}
    where analyte = 'calcium'
),

same_day_albumin as (
    select
        matched_calcium.assessment_id,
        matched_calcium.calcium_mmol_l,
        albumin.value_si as albumin_g_l,
        row_number() over (
            partition by matched_calcium.assessment_id
            order by albumin.collected_at desc, albumin.load_id desc, albumin.source_row desc
        ) as albumin_rank
    from matched_calcium
    inner join {{ ref('int_lab_results_converted') }} as albumin
        on albumin.patient_key = matched_calcium.patient_key
       and albumin.collected_date = matched_calcium.collected_date
       and albumin.analyte = 'albumin'
       and albumin.is_plausible
)

select
    assessment_id,
    albumin_g_l as same_day_albumin_g_l,
    {{ round_double(payne_corrected_calcium('calcium_mmol_l', 'albumin_g_l'), var('si_value_decimals')) }} as calcium_corrected_mmol_l
from same_day_albumin
where albumin_rank = 1
