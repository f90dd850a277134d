-- An Observation with `component`s stands for its components, each an Observation of its own
-- with the parent's subject, time and status and the id `<parent id>.<n>` (fhir._open_components).
-- parameters:
--   parts                   the view to create
--   source                  the resource lines (source_row, line, version_seq)
CREATE TEMP VIEW {{ parts }} AS
WITH panels AS (
    SELECT source_row, line, version_seq,
           TRY(json_extract(line, '$.component[*]')) AS components
    FROM {{ source }}
    WHERE contains(line, '"component"') AND TRY(json_extract_string(line, '$.resourceType')) = 'Observation'
)
SELECT source_row, line, version_seq FROM {{ source }}
WHERE NOT contains(line, '"component"') OR TRY(json_extract_string(line, '$.resourceType')) IS DISTINCT FROM 'Observation'
UNION ALL
SELECT source_row, line, version_seq FROM panels WHERE coalesce(len(components), 0) = 0
UNION ALL
SELECT source_row,
       json_merge_patch(json_merge_patch(line::JSON, json_object(
           'component', NULL::JSON, 'valueQuantity', NULL::JSON, 'valueString', NULL::JSON,
           'id', coalesce(json_extract_string(line, '$.id'), 'component') || '.' || n)), component)::VARCHAR,
       version_seq
FROM (SELECT source_row, line, version_seq, unnest(components) AS component,
             generate_subscripts(components, 1) AS n
      FROM panels WHERE len(components) > 0)
