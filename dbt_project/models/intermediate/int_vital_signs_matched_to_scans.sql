{{ config(materialized='table') }}
-- Per assessment and vital sign (weight_kg, height_cm, bmi), the plausible measurement nearest to
-- the scan date within the lab window (contract 4: matched to scans like labs, contract 6).
{{ nearest_lab_per_scan(
    scans=ref('int_dxa_scans_pivoted'),
    labs=ref('int_vital_signs_current'),
    window_days=var('lab_match_window_days'),
) }}
