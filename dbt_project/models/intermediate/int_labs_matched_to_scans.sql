{{ config(materialized='table') }}
-- Per assessment and analyte, the plausible lab result collected nearest to the scan date
-- within the window either side (contract 6: 90 days; ties go to the later result). Distance is
-- counted in calendar days between the collection's local date and the scan date.
-- Implausible results never match (contract 5). Reads int_lab_results_converted, the one
-- materialised table of current converted results (the mart fct_lab_result is a view over it).
{{ nearest_lab_per_scan(
    scans=ref('int_dxa_scans_pivoted'),
    labs=ref('int_lab_results_converted'),
    window_days=var('lab_match_window_days'),
) }}
