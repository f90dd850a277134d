-- Pre-DXA triage inputs (osteoreg issue 15): one row per DXA referral candidate (a patient with
-- labs and no DXA within var triage_no_dxa_within_years, marts.fct_latest_lab_panel), with the
-- columns of assessment_inputs.sql at the date of the latest lab panel. No scan, so no weight or
-- BMI: a model that needs them is not used for triage. No outcome is known.
SELECT
    panel.patient_key AS subject_id,
    panel.patient_key,
    panel.index_date,
    panel.sex,
    panel.menopausal_status,
    CAST(panel.age_at_index AS DOUBLE) AS age_years,
    CASE panel.sex WHEN 'F' THEN 1.0 WHEN 'M' THEN 0.0 END AS is_female,
    CAST(NULL AS DOUBLE) AS weight_kg,
    CAST(NULL AS DOUBLE) AS bmi,
    CAST(panel.mg_mmol_l AS DOUBLE) AS mg_mmol_l,
    CAST(panel.mg_below_op_cutoff AS DOUBLE) AS mg_below_op_cutoff,
    CAST(panel.phosphate_mmol_l AS DOUBLE) AS phosphate_mmol_l,
    CAST(panel.calcium_mmol_l AS DOUBLE) AS calcium_mmol_l,
    CAST(panel.vitd_nmol_l AS DOUBLE) AS vitd_nmol_l,
    CAST(panel.pth_ng_l AS DOUBLE) AS pth_ng_l,
    CAST(panel.crp_mg_l AS DOUBLE) AS crp_mg_l,
    CAST(panel.beta_ctx_ng_ml AS DOUBLE) AS beta_ctx_ng_ml,
    CAST(panel.p1np_ng_ml AS DOUBLE) AS p1np_ng_ml,
    panel.mg_days_before_index AS mg_days_before,
    panel.beta_ctx_days_before_index AS beta_ctx_days_before,
    panel.vitd_days_before_index AS vitd_days_before,
    panel.p1np_days_before_index AS p1np_days_before,
    CAST(NULL AS DOUBLE) AS outcome
FROM marts.fct_latest_lab_panel AS panel
WHERE panel.is_dxa_referral_candidate
