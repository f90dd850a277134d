-- The link from source patient ids to pseudonymous keys (identity schema; never reaches marts).
select
    patient_id,
    patient_key
from {{ source('identity', 'patient_map') }}
