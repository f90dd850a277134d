-- The report's analysis set: each patient's latest assessment with a WHO category, with the labs
-- matched to it (marts.fct_deficiency_flags). No parameters; read by etl/report/dataset.py.
SELECT
    a.assessment_id, a.patient_key, a.scan_date, a.age_at_scan, a.sex, a.who_category, a.iscd_category,
    a.min_t_score, a.bmd_lumbar_spine, a.bmd_femoral_neck, a.bmd_total_hip, a.bmi,
    f.mg_mmol_l, f.mg_deficient, f.mg_below_op_cutoff, f.vitd_nmol_l, f.vitd_status,
    f.calcium_mmol_l, f.phosphate_mmol_l, f.pth_ng_l, f.crp_mg_l, f.beta_ctx_ng_ml, f.p1np_ng_ml
FROM marts.fct_bmd_assessment AS a
LEFT JOIN marts.fct_deficiency_flags AS f ON f.assessment_id = a.assessment_id
WHERE a.who_category IS NOT NULL
QUALIFY row_number() OVER (PARTITION BY a.patient_key ORDER BY a.scan_date DESC, a.assessment_id DESC) = 1
