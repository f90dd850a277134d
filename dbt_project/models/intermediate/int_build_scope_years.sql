{{ config(materialized='table') }}
-- The calendar years an incremental build recomputes in the prevalence marts (contract section 9):
-- the years of the scope's patients' scans before the build (int_build_scope.year_before) and
-- after it. A year no longer has the same patients counted once a patient's scan is corrected,
-- added or deleted, so its cells are recomputed whole from the facts.
select year_before as year
from {{ ref('int_build_scope') }}
where year_before is not null
union
select cast(extract(year from scans.scan_date) as integer) as year
from {{ ref('int_dxa_scans_pivoted') }} as scans
where {{ in_build_scope('scans.patient_key') }}
