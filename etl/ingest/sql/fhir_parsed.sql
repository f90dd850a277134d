-- Every resource line parsed once: the elements the registry reads (one JSONPath each), the
-- codings with LOINC's other spellings normalised, the record identifier (contract 2a), the
-- subject as a source reference, and the DXA site/side/measure of a DXA LOINC (seed dxa_codes).
-- parameters:
--   parsed                  the table to create
--   paths                   the JSONPath list of fhir._PATHS
--   source                  the resource lines (source_row, line, version_seq)
--   fields                  the list's items named by their element
--   codings_type            the JSON structure of code.coding
--   loinc_aliases           LOINC's other system spellings, as an IN list
--   loinc                   the LOINC system URL
--   extensions_type         the JSON structure of extension
--   identifiers_type        the JSON structure of identifier
--   tracked                 the tracked LOINC codes, as a list literal
--   snomed                  the SNOMED CT system URL
--   record_identifier       the record identifier choice over `ids` (contract 2a)
--   dxa_seed                the path of seed dxa_codes, quoted
CREATE TEMP TABLE {{ parsed }} AS
WITH extracted AS (
    -- TRY: a line that is not JSON gives NULL (only its chunk is re-run row by row)
    SELECT source_row, version_seq, TRY(json_extract_string(line, {{ paths }})) AS v FROM {{ source }}
), flat AS (
    SELECT source_row, v IS NOT NULL AS is_json, version_seq AS history_seq,
        {{ fields }}
    FROM extracted
), coded AS (
    SELECT * EXCLUDE (coding_json, extension_json, identifier_json),
        coalesce(effective_date_time, effective_period_start, effective_instant, issued) AS effective,
        -- the source's time of this version, then its order (history Bundle, versionId)
        coalesce(last_updated, issued) AS reported_at,
        coalesce(history_seq, TRY_CAST(version_id AS BIGINT)) AS version_seq,
        list_transform(TRY(json_transform(coding_json, {{ codings_type }})),
            lambda c: {'system': CASE WHEN c.system IN {{ loinc_aliases }} THEN '{{ loinc }}' ELSE c.system END,
                       'code': c.code, 'display': c.display}) AS codings,
        CASE WHEN resource_type IN ('Patient', 'Condition', 'Procedure')
             THEN TRY(json_transform(extension_json, {{ extensions_type }})) END AS extensions,
        CASE WHEN resource_type = 'Patient'
             THEN TRY(json_transform(identifier_json, {{ identifiers_type }})) END AS ids,
        -- the subject as a source reference (contract 2a): a logical identifier
        -- reference as `value` in its `system`; any other as `Patient/<id>`, which
        -- identity resolves through that Patient's record identifier
        CASE WHEN subject_identifier_value IS NOT NULL THEN subject_identifier_value
             WHEN subject_reference LIKE 'Patient?identifier=%'
             THEN regexp_extract(replace(subject_reference, '%7C', '|'), '^Patient\?identifier=(?:[^|]*\|)?(.+)$', 1)
             WHEN subject_reference LIKE 'urn:uuid:%' THEN 'Patient/' || substr(subject_reference, 10)
             ELSE 'Patient/' || nullif(regexp_extract(subject_reference, '(?:^|/)Patient/([^/]+)', 1), '')
        END AS subject_id,
        CASE WHEN subject_identifier_value IS NOT NULL THEN nullif(subject_identifier_system, '')
             WHEN subject_reference LIKE 'Patient?identifier=%'
             THEN nullif(regexp_extract(replace(subject_reference, '%7C', '|'), '^Patient\?identifier=([^|]*)\|', 1), '')
        END AS subject_namespace
    FROM flat
), primary_coding AS (
    SELECT *,
        coalesce(list_filter(codings, lambda c: c.system = '{{ loinc }}' AND list_contains({{ tracked }}, c.code))[1],
                 list_filter(codings, lambda c: c.system = '{{ loinc }}')[1], codings[1]) AS coding,
        list_filter(codings, lambda c: c.system = '{{ snomed }}')[1] AS snomed,
        {{ record_identifier }} AS record_identifier
    FROM coded
)
SELECT p.*, d.site AS dxa_site, d.side AS dxa_side, d.measure AS dxa_measure
FROM primary_coding p
LEFT JOIN read_csv({{ dxa_seed }}, all_varchar = true) d
  ON p.resource_type = 'Observation' AND p.coding.system = '{{ loinc }}' AND p.coding.code = d.loinc_code
