{{ config(materialized='table') }}
-- Per assessment and analyte, the plausible lab result collected nearest to the scan date
-- within the window either side (contract 6: 90 days; ties go to the later result). Distance is
-- counted in calendar days between the collection's local date and the scan date.
-- Implausible results never match (contract 5). Reads the mart fct_lab_result, the one table
-- of current converted results, rather than a second copy of 20M rows in this layer.
{{ nearest_lab_per_scan(
    scans=ref('int_dxa_scans_pivoted'),
    labs=ref('fct_lab_result'),
    window_days=var('lab_match_window_days'),
) }}
