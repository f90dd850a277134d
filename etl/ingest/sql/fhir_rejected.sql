-- Lines that are no resource, and Observations / fractures without a Patient subject: their
-- row, reason and one sentence (the loader quarantines them with the resource as payload).
-- parameters:
--   parsed                  the parsed resources (fhir_parsed.sql)
--   is_fracture             true where a Condition / Procedure names a fracture
SELECT source_row,
       CASE WHEN resource_type IS NULL THEN 'unparseable_message' ELSE 'missing_subject' END,
       CASE WHEN NOT is_json THEN 'the line is not JSON'
            WHEN resource_type IS NULL THEN 'the line is not a JSON object with a resourceType'
            ELSE 'the ' || resource_type || ' has no Patient subject reference' END
FROM {{ parsed }}
WHERE resource_type IS NULL
   OR (resource_type IN ('Observation', 'Condition', 'Procedure') AND subject_id IS NULL
       AND (resource_type = 'Observation' OR {{ is_fracture }}))
ORDER BY source_row
