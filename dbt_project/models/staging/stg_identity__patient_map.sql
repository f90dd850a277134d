-- The link from patients to pseudonymous keys (identity schema; never reaches marts): one row
-- per person (contract 2a), as the raw staging models name them; several source references
-- (a record number in two formats, a FHIR logical id) resolve to one person and one key.
select distinct
    coalesce(refs.person_id, patient_map.patient_id) as patient_id,
    patient_map.patient_key
from {{ source('identity', 'patient_map') }} as patient_map
left join {{ source('identity', 'patient_references') }} as refs
    on refs.patient_id = patient_map.patient_id
