-- Patients (contract 4): the record reference, sex from the US Core extensions else gender,
-- the birth date as sent (a partial one included), osteoreg's menopausal-status extension.
-- parameters:
--   record_reference_value  a Patient row's record identifier value
--   menopausal_status_url   osteoreg's menopausal-status extension URL
--   parsed                  the parsed resources (fhir_parsed.sql)
SELECT source_row, {{ record_reference_value }} AS patient_id,
    CASE WHEN record_identifier.value IS NOT NULL THEN nullif(record_identifier.system, '') END
        AS patient_id_namespace,
    coalesce(
        CASE list_filter(extensions, lambda e: e.url LIKE '%/us-core-individual-sex')[1].valueCoding.code
            WHEN '248152002' THEN 'female' WHEN '248153007' THEN 'male' END,
        CASE list_filter(extensions, lambda e: e.url LIKE '%/us-core-birthsex')[1].valueCode
            WHEN 'F' THEN 'female' WHEN 'M' THEN 'male' END,
        gender) AS sex,
    birth_date,
    list_filter(extensions, lambda e: e.url = '{{ menopausal_status_url }}')[1].valueCode AS menopausal_status,
    list_filter(list_filter(extensions, lambda e: e.url LIKE '%/us-core-ethnicity')[1].extension,
                lambda e: e.url = 'text')[1].valueString AS ethnicity
FROM {{ parsed }} WHERE resource_type = 'Patient'
