-- Fractures: Conditions and Procedures whose SNOMED CT coding (or text) names a fracture.
-- parameters:
--   fragility_url           osteoreg's fracture-fragility extension URL
--   fracture_status         a Condition / Procedure status as an HL7 letter
--   parsed                  the parsed resources (fhir_parsed.sql)
--   is_fracture             true where a Condition / Procedure names a fracture
SELECT source_row, subject_id AS patient_id, subject_namespace AS patient_id_namespace,
    reported_at, CAST(version_seq AS VARCHAR) AS version_seq,
    coalesce(onset_date_time, onset_period_start, recorded_date,
             performed_date_time, performed_period_start) AS fracture_date,
    coalesce(body_site_text, body_site_display, code_text, snomed.display) AS site,
    list_filter(extensions, lambda e: e.url = '{{ fragility_url }}')[1].valueBoolean AS fragility,
    coalesce(snomed.code, coding.code) AS code,
    CASE WHEN snomed.code IS NOT NULL THEN 'SNOMED' ELSE coding.system END AS code_system,
    {{ fracture_status }} AS status,
    id AS result_id
FROM {{ parsed }}
WHERE resource_type IN ('Condition', 'Procedure') AND subject_id IS NOT NULL
  AND {{ is_fracture }}
