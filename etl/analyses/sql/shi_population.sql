-- Shi et al.'s population on the registry: postmenopausal women (menopausal status recorded as
-- 'post' at the scan), one row per patient through her latest assessment with a WHO category
-- where the WHO criteria apply, with the labs collected before that scan (marts.fct_prescan_labs).
-- A censored result (sent as '<0.20' or '>150', fct_lab_result.value_comparator) is flagged and
-- its value left empty, so no mean or model takes the limit for an exact value.
with qualifying as (
    select *
    from marts.fct_bmd_assessment
    where sex = 'F'
      and menopausal_status = 'post'
      and who_criteria_apply
      and is_densitometric_osteoporosis is not null
    qualify row_number() over (partition by patient_key order by scan_date desc, assessment_id desc) = 1
),

prescan as (
    select labs.*
    from marts.fct_prescan_labs as labs
    inner join qualifying on qualifying.assessment_id = labs.assessment_id
),

matched as (
    select assessment_id, patient_key, scan_date, 'magnesium' as analyte, mg_mmol_l as value_si, mg_days_before_scan as days_before from prescan
    union all select assessment_id, patient_key, scan_date, 'phosphate', phosphate_mmol_l, phosphate_days_before_scan from prescan
    union all select assessment_id, patient_key, scan_date, 'beta_ctx', beta_ctx_ng_ml, beta_ctx_days_before_scan from prescan
    union all select assessment_id, patient_key, scan_date, 'p1np', p1np_ng_ml, p1np_days_before_scan from prescan
    union all select assessment_id, patient_key, scan_date, 'calcium', calcium_mmol_l, calcium_days_before_scan from prescan
    union all select assessment_id, patient_key, scan_date, 'vitamin_d_25oh', vitd_nmol_l, vitd_days_before_scan from prescan
    union all select assessment_id, patient_key, scan_date, 'pth', pth_ng_l, pth_days_before_scan from prescan
    union all select assessment_id, patient_key, scan_date, 'crp', crp_mg_l, crp_days_before_scan from prescan
),

censored as (
    select matched.assessment_id, matched.analyte
    from matched
    inner join marts.fct_lab_result as labs
        on labs.patient_key = matched.patient_key
       and labs.analyte = matched.analyte
       and labs.collected_date = matched.scan_date - cast(matched.days_before as integer)
       and labs.value_si = matched.value_si
    where matched.value_si is not null
      and labs.value_comparator is not null
      and labs.is_plausible
    group by matched.assessment_id, matched.analyte
),

flags as (
    select
        assessment_id,
        bool_or(analyte = 'magnesium') as mg_censored,
        bool_or(analyte = 'phosphate') as phosphate_censored,
        bool_or(analyte = 'beta_ctx') as beta_ctx_censored,
        bool_or(analyte = 'p1np') as p1np_censored,
        bool_or(analyte = 'calcium') as calcium_censored,
        bool_or(analyte = 'vitamin_d_25oh') as vitd_censored,
        bool_or(analyte = 'pth') as pth_censored,
        bool_or(analyte = 'crp') as crp_censored
    from censored
    group by assessment_id
)

select
    qualifying.assessment_id,
    qualifying.patient_key,
    qualifying.scan_date,
    qualifying.age_at_scan,
    qualifying.sex,
    qualifying.bmi,
    qualifying.weight_kg,
    qualifying.manufacturer,
    qualifying.min_t_score,
    qualifying.bmd_lumbar_spine,
    qualifying.bmd_femoral_neck,
    qualifying.bmd_total_hip,
    qualifying.is_densitometric_osteoporosis as osteoporosis,
    qualifying.has_fragility_fracture,
    case when coalesce(flags.mg_censored, false) then null else prescan.mg_mmol_l end as mg_mmol_l,
    case when coalesce(flags.phosphate_censored, false) then null else prescan.phosphate_mmol_l end as phosphate_mmol_l,
    case when coalesce(flags.beta_ctx_censored, false) then null else prescan.beta_ctx_ng_ml end as beta_ctx_ng_ml,
    case when coalesce(flags.p1np_censored, false) then null else prescan.p1np_ng_ml end as p1np_ng_ml,
    case when coalesce(flags.calcium_censored, false) then null else prescan.calcium_mmol_l end as calcium_mmol_l,
    case when coalesce(flags.vitd_censored, false) then null else prescan.vitd_nmol_l end as vitd_nmol_l,
    case when coalesce(flags.pth_censored, false) then null else prescan.pth_ng_l end as pth_ng_l,
    case when coalesce(flags.crp_censored, false) then null else prescan.crp_mg_l end as crp_mg_l,
    coalesce(flags.mg_censored, false) as mg_mmol_l_censored,
    coalesce(flags.phosphate_censored, false) as phosphate_mmol_l_censored,
    coalesce(flags.beta_ctx_censored, false) as beta_ctx_ng_ml_censored,
    coalesce(flags.p1np_censored, false) as p1np_ng_ml_censored,
    coalesce(flags.calcium_censored, false) as calcium_mmol_l_censored,
    coalesce(flags.vitd_censored, false) as vitd_nmol_l_censored,
    coalesce(flags.pth_censored, false) as pth_ng_l_censored,
    coalesce(flags.crp_censored, false) as crp_mg_l_censored
from qualifying
left join prescan on prescan.assessment_id = qualifying.assessment_id
left join flags on flags.assessment_id = qualifying.assessment_id
