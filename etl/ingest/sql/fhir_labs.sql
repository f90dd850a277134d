-- Lab results: every Observation with a subject that is no DXA measure (contract 4).
-- parameters:
--   loinc                   the LOINC system URL
--   observation_status      FHIR status as its HL7 letter (seed result_statuses)
--   parsed                  the parsed resources (fhir_parsed.sql)
SELECT source_row, subject_id AS patient_id, subject_namespace AS patient_id_namespace,
    reported_at, CAST(version_seq AS VARCHAR) AS version_seq,
    effective AS collected_at,
    coding.code AS code,
    coalesce(q_comparator, '') || coalesce(q_value, value_integer, value_string, value_concept_text,
                                           value_concept_code, value_boolean) AS value,
    coalesce(q_code, q_unit) AS unit,
    CASE WHEN coding.system = '{{ loinc }}' THEN 'LOINC' ELSE coding.system END AS code_system,
    coalesce(code_text, coding.display) AS name,
    coalesce(range_text, CASE WHEN range_low IS NOT NULL OR range_high IS NOT NULL
                              THEN coalesce(range_low, '') || '-' || coalesce(range_high, '') END)
        AS reference_range,
    coalesce(interpretation_code, interpretation_text) AS abnormal_flag,
    {{ observation_status }} AS status,
    id AS result_id
FROM {{ parsed }}
WHERE resource_type = 'Observation' AND subject_id IS NOT NULL AND dxa_site IS NULL
