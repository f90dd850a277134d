-- Contract section 5: implausible values stay visible in fct_lab_result but never reach flags,
-- categories or prevalence. Any row here is a matched result that is implausible.
select matched.assessment_id, matched.analyte, matched.load_id, matched.source_row
from {{ ref('int_labs_matched_to_scans') }} as matched
inner join {{ ref('fct_lab_result') }} as labs
    on labs.load_id = matched.load_id
   and labs.source_row = matched.source_row
where not labs.is_plausible
