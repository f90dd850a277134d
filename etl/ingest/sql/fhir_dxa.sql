-- One row per DXA Observation, the measure in its column and its unit as sent (the loader
-- converts mg/cm2 and quarantines any other unit: seed dxa_units). The dbt identity of a DXA
-- result is its resource id, so a corrected or entered-in-error Observation replaces or removes
-- exactly its own measure; int_dxa_scans_pivoted groups them into scans by patient and date.
-- Height and weight measured on the scan's date go onto its rows (contract 4).
-- parameters:
--   vital_columns           the height and weight columns (fhir.VITAL_SIGNS)
--   parsed                  the parsed resources (fhir_parsed.sql)
--   loinc                   the LOINC system URL
--   vital_sign_codes        the vital-sign LOINC codes, as an IN list
--   observation_status      FHIR status as its HL7 letter (seed result_statuses)
WITH vitals AS (
    SELECT subject_id, left(effective, 10) AS day,
        {{ vital_columns }}
    FROM {{ parsed }}
    WHERE resource_type = 'Observation' AND coding.system = '{{ loinc }}'
      AND coding.code IN {{ vital_sign_codes }}
    GROUP BY ALL
)
SELECT source_row, p.subject_id AS patient_id, p.subject_namespace AS patient_id_namespace,
    reported_at, CAST(version_seq AS VARCHAR) AS version_seq,
    effective AS scan_date,
    dxa_site AS site,
    CASE WHEN dxa_measure = 't_score' THEN q_value END AS t_score,
    dxa_side AS side,
    CASE WHEN dxa_measure = 'bmd_g_cm2' THEN q_value END AS bmd_g_cm2,
    CASE WHEN dxa_measure = 'z_score' THEN q_value END AS z_score,
    -- the unit as sent: the loader converts mg/cm2 and quarantines any other unit
    -- (seed dxa_units)
    CASE WHEN dxa_measure = 'bmd_g_cm2' THEN coalesce(q_code, q_unit) END AS bmd_unit,
    CASE WHEN dxa_measure = 't_score' THEN coalesce(q_code, q_unit) END AS t_score_unit,
    CASE WHEN dxa_measure = 'z_score' THEN coalesce(q_code, q_unit) END AS z_score_unit,
    vitals.height_cm, vitals.weight_kg,
    {{ observation_status }} AS status,
    id AS result_id
FROM {{ parsed }} AS p
LEFT JOIN vitals ON vitals.subject_id = p.subject_id AND vitals.day = left(p.effective, 10)
WHERE resource_type = 'Observation' AND p.subject_id IS NOT NULL AND dxa_site IS NOT NULL
