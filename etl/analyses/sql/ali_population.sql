-- Ali et al.'s population on the registry: adults of both sexes, one row per patient through the
-- latest assessment with a WHO category where the WHO criteria apply, with the labs and flags the
-- marts match to it (marts.fct_deficiency_flags: nearest result within the window either side).
select
    assessments.assessment_id,
    assessments.patient_key,
    assessments.scan_date,
    assessments.age_at_scan,
    assessments.sex,
    assessments.manufacturer,
    assessments.min_t_score,
    assessments.bmd_lumbar_spine,
    assessments.bmd_femoral_neck,
    assessments.bmd_total_hip,
    assessments.is_densitometric_osteoporosis as osteoporosis,
    flags.mg_mmol_l,
    flags.mg_deficient,
    flags.vitd_nmol_l,
    flags.vitd_status,
    flags.pth_ng_l,
    flags.pth_elevated,
    flags.crp_mg_l,
    flags.hypocalcemia
from marts.fct_bmd_assessment as assessments
left join marts.fct_deficiency_flags as flags
    on flags.assessment_id = assessments.assessment_id
where assessments.who_criteria_apply
  and assessments.is_densitometric_osteoporosis is not null
qualify row_number() over (partition by assessments.patient_key
                           order by assessments.scan_date desc, assessments.assessment_id desc) = 1
