-- Every identifier of every Patient, with the record reference it belongs to, and the logical
-- id (Observations in other files name the patient by it): `ReaderResult.identifiers`.
-- parameters:
--   identifiers             the table to create
--   record_reference        a Patient row's record reference (system|value)
--   parsed                  the parsed resources (fhir_parsed.sql)
CREATE TEMP TABLE {{ identifiers }} AS
SELECT nullif(i.system, '') AS namespace,
       coalesce(i.type.coding[1].code, i.type.text, i.use) AS id_type, i.value AS id_value,
       CASE WHEN i.value = record_identifier.value AND i.system IS NOT DISTINCT FROM record_identifier.system
            THEN record END AS reference,
       record AS patient_id
FROM (SELECT unnest(ids) AS i, record_identifier, {{ record_reference }} AS record
      FROM {{ parsed }} WHERE resource_type = 'Patient' AND id IS NOT NULL)
WHERE i.value IS NOT NULL
UNION ALL
-- the logical id: Observations in other files name the patient by it
SELECT 'Patient', 'resource_id', id, 'Patient/' || id, {{ record_reference }}
FROM {{ parsed }} WHERE resource_type = 'Patient' AND id IS NOT NULL
