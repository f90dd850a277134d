-- One row per current final result of a tracked analyte (contract 5 and 6), in SI beside the
-- value and unit as sent. Implausible values stay here with is_plausible = false. Key: the raw
-- row (load_id, source_row) that delivered the current version.
select
    patient_key,
    collected_at,
    collected_date,
    analyte,
    specimen,
    loinc_code,
    value_si,
    unit_si,
    value_original,
    unit_original,
    value_comparator,
    is_plausible,
    status,
    result_id,
    load_id,
    source_row
from {{ ref('int_lab_results_converted') }}
