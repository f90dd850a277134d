{{ incremental_by_build_scope() }}
{%- set scans = ref('int_dxa_scans_pivoted') %}
{%- if is_incremental() %}
{%- set scans = '(select * from ' ~ scans ~ ' where ' ~ in_build_scope('patient_key') ~ ')' %}
{%- endif %}
-- Per assessment and vital sign (weight_kg, height_cm, bmi), the plausible measurement nearest to
-- the scan date within the lab window (contract 4: matched to scans like labs, contract 6).
{{ nearest_lab_per_scan(
    scans=scans,
    labs=ref('int_vital_signs_current'),
    window_days=var('lab_match_window_days'),
) }}
