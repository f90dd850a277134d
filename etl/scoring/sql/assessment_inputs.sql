-- The risk models' inputs, one row per assessment (osteoreg issue 15). Laboratory values are the
-- pre-scan ones (marts.fct_prescan_labs: collected on or before the scan), never the two-sided
-- match of the descriptive flags. The outcome is the mart's densitometric osteoporosis, and only
-- where the WHO T-score criteria apply (ISCD: age >= 50 or postmenopausal); elsewhere it is
-- empty, so such assessments are scored but never trained or evaluated on.
SELECT
    assessment.assessment_id AS subject_id,
    assessment.patient_key,
    assessment.scan_date AS index_date,
    assessment.sex,
    assessment.menopausal_status,
    CAST(assessment.age_at_scan AS DOUBLE) AS age_years,
    CASE assessment.sex WHEN 'F' THEN 1.0 WHEN 'M' THEN 0.0 END AS is_female,
    CAST(assessment.weight_kg AS DOUBLE) AS weight_kg,
    CAST(assessment.bmi AS DOUBLE) AS bmi,
    CAST(labs.mg_mmol_l AS DOUBLE) AS mg_mmol_l,
    CAST(labs.mg_below_op_cutoff AS DOUBLE) AS mg_below_op_cutoff,
    CAST(labs.phosphate_mmol_l AS DOUBLE) AS phosphate_mmol_l,
    CAST(labs.calcium_mmol_l AS DOUBLE) AS calcium_mmol_l,
    CAST(labs.vitd_nmol_l AS DOUBLE) AS vitd_nmol_l,
    CAST(labs.pth_ng_l AS DOUBLE) AS pth_ng_l,
    CAST(labs.crp_mg_l AS DOUBLE) AS crp_mg_l,
    CAST(labs.beta_ctx_ng_ml AS DOUBLE) AS beta_ctx_ng_ml,
    CAST(labs.p1np_ng_ml AS DOUBLE) AS p1np_ng_ml,
    labs.mg_days_before_scan AS mg_days_before,
    labs.beta_ctx_days_before_scan AS beta_ctx_days_before,
    labs.vitd_days_before_scan AS vitd_days_before,
    labs.p1np_days_before_scan AS p1np_days_before,
    CASE WHEN assessment.who_criteria_apply
         THEN CAST(assessment.is_densitometric_osteoporosis AS DOUBLE) END AS outcome
FROM marts.fct_bmd_assessment AS assessment
LEFT JOIN marts.fct_prescan_labs AS labs
    ON labs.assessment_id = assessment.assessment_id
