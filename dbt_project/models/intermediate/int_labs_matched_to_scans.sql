{{ incremental_by_build_scope() }}
{%- set scans = ref('int_dxa_scans_pivoted') %}
{%- if is_incremental() %}
{%- set scans = '(select * from ' ~ scans ~ ' where ' ~ in_build_scope('patient_key') ~ ')' %}
{%- endif %}
-- Per assessment and analyte, the plausible lab result collected nearest to the scan date
-- within the window either side (contract 6: 90 days; ties go to the later result). Distance is
-- counted in calendar days between the collection's local date and the scan date.
-- Implausible results never match (contract 5). Reads int_lab_results_converted, the one
-- materialised table of current converted results (the mart fct_lab_result is a view over it).
{{ nearest_lab_per_scan(
    scans=scans,
    labs=ref('int_lab_results_converted'),
    window_days=var('lab_match_window_days'),
) }}
