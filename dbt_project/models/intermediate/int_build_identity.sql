{{ config(materialized='table', schema='identity') }}
-- depends_on: {{ ref('int_build_scope') }}
-- The source references and their keys as this build saw them (PHI: kept in schema identity).
-- The next build's int_build_scope compares identity.patient_map with it: a reference whose key
-- changed (identity settings declared two namespaces one, a FHIR link resolved) puts the patients
-- on both sides into the scope. Built after the scope, which reads the previous build's copy.
select patient_id, patient_key
from {{ source('identity', 'patient_map') }}
