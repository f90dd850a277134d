-- HL7 v2 DXA results (contract 3 and 7): an OBX whose LOINC (OBX-3 with system LN/LNC, or its
-- alternate LOINC) is a DXA BMD / T-score / Z-score code of seed dxa_codes becomes one `dxa` row,
-- its measure in its column and its unit beside it (the loader converts mg/cm2 and quarantines
-- any other unit, seed dxa_units). One OBR is one scan: the scan date is the OBX or OBR time.
-- A row's identity is its order (OBR-3), code, sub-id and scan date, so a corrected OBX (C)
-- replaces exactly its own measure and a scan's T-score never replaces its BMD.
-- parameters:
--   labs        the reader's lab rows (LAB_COLUMNS of etl/ingest/hl7v2.py)
--   dxa_loinc   the row's LOINC code, as an expression over `labs`
--   dxa_site    CASE over dxa_loinc: the site of a DXA code, NULL for any other code
--   dxa_side    CASE over dxa_loinc: the code's side (empty when unsided)
--   dxa_measure CASE over dxa_loinc: bmd_g_cm2, t_score or z_score
SELECT source_row, patient_id, patient_id_namespace, reported_at,
       collected_at AS scan_date,
       site,
       nullif(side, '') AS side,
       CASE WHEN measure = 't_score' THEN value END AS t_score,
       CASE WHEN measure = 'z_score' THEN value END AS z_score,
       CASE WHEN measure = 'bmd_g_cm2' THEN value END AS bmd_g_cm2,
       CASE WHEN measure = 't_score' THEN nullif(unit, '') END AS t_score_unit,
       CASE WHEN measure = 'z_score' THEN nullif(unit, '') END AS z_score_unit,
       CASE WHEN measure = 'bmd_g_cm2' THEN nullif(unit, '') END AS bmd_unit,
       status,
       'hl7:' || coalesce(accession_id, '') || '^' || code || '^' || coalesce(result_id, '')
           || '^' || coalesce(left(collected_at, 10), '') AS result_id
FROM (
    SELECT *,
           {{ dxa_site }} AS site,
           {{ dxa_side }} AS side,
           {{ dxa_measure }} AS measure
    FROM (SELECT *, {{ dxa_loinc }} AS dxa_loinc FROM {{ labs }})
)
WHERE site IS NOT NULL
