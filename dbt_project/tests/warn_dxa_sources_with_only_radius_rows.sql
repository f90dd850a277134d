{{ config(severity='warn') }}
-- A warning, not an error (issue 12): a source whose DXA rows are all 33% radius (Synthea sends
-- 38265-5 this way) gives assessments without a core site, so without a WHO category unless
-- var use_radius_33_when_no_core_site is on. One row per such source file.
select
    source_file,
    count(*) as radius_rows
from {{ ref('stg_raw__dxa_results') }}
group by source_file
having sum(case when site = 'radius_33' then 0 else 1 end) = 0
