-- One row per patient and scan date (contract 6) with the WHO and ISCD categories; the menopausal
-- status is the one that belongs to the scan's date (int_dxa_scans_menopausal_status).
{{ incremental_by_build_scope() }}
with assessments as (
    select
        scans.assessment_id,
        scans.patient_key,
        scans.scan_date,
        -- the range of whole years the birth date allows (one value for a whole birth date)
        {{ whole_years_between('patients.birth_date_latest', 'scans.scan_date') }} as age_at_scan_low,
        {{ whole_years_between('patients.birth_date_earliest', 'scans.scan_date') }} as age_at_scan_high,
        patients.sex,
        status_at_scan.menopausal_status,
        status_at_scan.menopausal_status_basis,
        scans.t_score_lumbar_spine,
        scans.t_score_femoral_neck,
        scans.t_score_total_hip,
        scans.min_t_score,
        scans.min_t_score_site,
        scans.t_score_radius_33,
        scans.z_score_radius_33,
        scans.bmd_radius_33,
        scans.z_score_lumbar_spine,
        scans.z_score_femoral_neck,
        scans.z_score_total_hip,
        scans.min_z_score,
        scans.bmd_lumbar_spine,
        scans.bmd_femoral_neck,
        scans.bmd_total_hip,
        -- the DXA export's own height and weight win; else the nearest vital signs (contract 4)
        coalesce(scans.height_cm, vitals.height_cm) as height_cm,
        coalesce(scans.weight_kg, vitals.weight_kg) as weight_kg,
        coalesce(
            scans.bmi,
            {{ round_double('coalesce(scans.weight_kg, vitals.weight_kg)
                / ((coalesce(scans.height_cm, vitals.height_cm) / 100.0) * (coalesce(scans.height_cm, vitals.height_cm) / 100.0))', 2) }},
            vitals.bmi
        ) as bmi,
        scans.manufacturer,
        scans.has_implausible_value,
        coalesce(fractures.first_fragility_fracture_date <= scans.scan_date, false) as has_fragility_fracture
    from {{ ref('int_dxa_scans_pivoted') }} as scans
    left join {{ ref('int_patients_current') }} as patients
        on patients.patient_key = scans.patient_key
    left join {{ ref('int_patients_first_fragility_fracture') }} as fractures
        on fractures.patient_key = scans.patient_key
    left join {{ ref('int_dxa_scans_menopausal_status') }} as status_at_scan
        on status_at_scan.assessment_id = scans.assessment_id
    left join (
        select
            assessment_id,
            max(case when analyte = 'height_cm' then value_si end) as height_cm,
            max(case when analyte = 'weight_kg' then value_si end) as weight_kg,
            max(case when analyte = 'bmi' then value_si end) as bmi
        from {{ ref('int_vital_signs_matched_to_scans') }}
        group by assessment_id
    ) as vitals
        on vitals.assessment_id = scans.assessment_id
    {%- if is_incremental() %}
    where {{ in_build_scope('scans.patient_key') }}
    {%- endif %}
),

categorised as (
    select
        assessments.*,
        {{ who_category('min_t_score', 'has_fragility_fracture') }} as who_category,
        {{ age_if_certain('age_at_scan_low', 'age_at_scan_high') }} as age_at_scan,
        {{ age_band_if_certain('age_at_scan_low', 'age_at_scan_high') }} as age_band,
        {{ age_deciding('age_at_scan_low', 'age_at_scan_high', var('iscd_who_applies_from_age')) }} as age_for_iscd
    from assessments
),

labelled as (
    select
        categorised.*,
        who.is_densitometric_osteoporosis
    from categorised
    left join {{ ref('who_categories') }} as who
        on who.who_category = categorised.who_category
)

select
    assessment_id,
    patient_key,
    scan_date,
    cast(age_at_scan as integer) as age_at_scan,
    age_band,
    sex,
    menopausal_status,
    menopausal_status_basis,
    t_score_lumbar_spine,
    t_score_femoral_neck,
    t_score_total_hip,
    min_t_score,
    min_t_score_site,
    t_score_radius_33,
    z_score_radius_33,
    bmd_radius_33,
    who_category,
    {{ iscd_category('who_category', 'age_for_iscd', 'sex', 'menopausal_status', 'min_z_score') }} as iscd_category,
    -- The risk models' outcome (osteoreg issue 15): seed who_categories; empty without a category.
    is_densitometric_osteoporosis,
    coalesce({{ who_criteria_apply('age_for_iscd', 'sex', 'menopausal_status') }}, false) as who_criteria_apply,
    z_score_lumbar_spine,
    z_score_femoral_neck,
    z_score_total_hip,
    min_z_score,
    bmd_lumbar_spine,
    bmd_femoral_neck,
    bmd_total_hip,
    height_cm,
    weight_kg,
    bmi,
    manufacturer,
    has_fragility_fracture,
    has_implausible_value
from labelled
