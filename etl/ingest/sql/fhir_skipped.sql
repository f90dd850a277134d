-- Resources of types the registry does not use, and Conditions / Procedures that are no
-- fracture: counted as skipped.
-- parameters:
--   parsed                  the parsed resources (fhir_parsed.sql)
--   resource_types_used     the resource types read, as an IN list
--   is_fracture             true where a Condition / Procedure names a fracture
SELECT count(*) FROM {{ parsed }}
WHERE resource_type IS NOT NULL
  AND (resource_type NOT IN {{ resource_types_used }}
       OR (resource_type IN ('Condition', 'Procedure') AND NOT {{ is_fracture }}))
