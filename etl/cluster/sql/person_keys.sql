-- Each source patient reference and the pseudonymous key of the person it stands for, resolved
-- exactly as stg_identity__patient_map and the raw staging models resolve it
-- (coalesce(person_id, reference) -> that person's key). The exported raw layer carries the key
-- in place of the reference, so the source ids (PHI) never leave the warehouse.
CREATE OR REPLACE TEMP TABLE person_keys AS
WITH persons AS (
    SELECT DISTINCT coalesce(refs.person_id, map.patient_id) AS person_id, map.patient_key
    FROM identity.patient_map AS map
    LEFT JOIN identity.patient_references AS refs ON refs.patient_id = map.patient_id
),
references_seen AS (
    SELECT patient_id AS reference FROM identity.patient_map
    UNION SELECT patient_id FROM identity.patient_references
)
SELECT references_seen.reference, persons.patient_key
FROM references_seen
LEFT JOIN identity.patient_references AS refs ON refs.patient_id = references_seen.reference
INNER JOIN persons ON persons.person_id = coalesce(refs.person_id, references_seen.reference);
