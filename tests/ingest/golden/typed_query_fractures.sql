SELECT d.source_row, d.patient_id, d.fracture_date, d.site, d.fragility, d.code, d.code_system, d.status, d.result_id, d.extra,
       ['missing_patient_id', 'missing_date', 'invalid_date', 'missing_code', 'invalid_category', 'invalid_status'][d.failed_check] AS reason,
       ['patient_id', 'fracture_date', 'fracture_date', 'site', 'fragility', 'status'][d.failed_check] AS field,
       CASE WHEN d.failed_check IS NOT NULL THEN json_object('patient_id', d.src_patient_id, 'fracture_date', d.src_fracture_date, 'site', d.src_site, 'fragility', d.src_fragility, 'code', d.src_code, 'code_system', d.src_code_system, 'status', d.src_status, 'result_id', d.src_result_id) END AS payload,
       CASE WHEN d.failed_check IS NULL THEN hash(d.patient_id, d.fracture_date, d.site, d.fragility, d.code, d.code_system, d.status, d.result_id) END AS row_hash
FROM (
    SELECT t.*,
           CASE WHEN t.patient_id IS NULL THEN 1 WHEN t.fracture_txt IS NULL THEN 2 WHEN t.fracture_date IS NULL THEN 3 WHEN t.site IS NULL THEN 4 WHEN t.fragility IS NULL THEN 5 WHEN NOT t.status_known THEN 6 END AS failed_check
    FROM (SELECT t.*, CASE WHEN t.status IS NULL THEN NULL ELSE CASE t.status WHEN 'A' THEN true WHEN 'C' THEN true WHEN 'D' THEN true WHEN 'F' THEN true WHEN 'I' THEN true WHEN 'N' THEN true WHEN 'O' THEN true WHEN 'P' THEN true WHEN 'R' THEN true WHEN 'S' THEN true WHEN 'U' THEN true WHEN 'W' THEN true WHEN 'X' THEN true ELSE false END END AS status_known FROM (
        SELECT s.source_row,
               s.patient_id AS patient_id,
               s.fracture_date AS fracture_txt,
               CAST(coalesce(TRY_CAST(left(s.fracture_date, length(s.fracture_date) - coalesce(length(CASE WHEN length(s.fracture_date) > 19 THEN CASE WHEN right(s.fracture_date, 1) = 'Z' THEN 'Z' WHEN substr(s.fracture_date, -6, 1) IN ('+', '-') AND substr(s.fracture_date, -3, 1) = ':' THEN right(s.fracture_date, 6) WHEN substr(s.fracture_date, -5, 1) IN ('+', '-') THEN right(s.fracture_date, 5) WHEN substr(s.fracture_date, -3, 1) IN ('+', '-') THEN right(s.fracture_date, 3) END END), 0)) AS TIMESTAMP), TRY_STRPTIME(s.fracture_date, '%d.%m.%Y')) AS DATE) AS fracture_date,
               s.site AS site,
               lower(s.fragility) AS fragility_txt,
               CASE WHEN lower(s.fragility) IS NULL THEN true ELSE CASE lower(s.fragility) WHEN 'true' THEN true WHEN 't' THEN true WHEN 'yes' THEN true WHEN 'y' THEN true WHEN '1' THEN true WHEN 'false' THEN false WHEN 'f' THEN false WHEN 'no' THEN false WHEN 'n' THEN false WHEN '0' THEN false END END AS fragility,
               s.code AS code,
               s.code_system AS code_system,
               coalesce(upper(s.status), 'F') AS status,
               s.result_id AS result_id,
               NULL::JSON AS extra, s.src_patient_id, s.src_fracture_date, s.src_site, s.src_fragility, s.src_code, s.src_code_system, s.src_status, s.src_result_id
        FROM (SELECT NULL::BIGINT AS source_row, CASE WHEN starts_with(patient_id, ' ') OR ends_with(patient_id, ' ') THEN nullif(trim(patient_id), '') ELSE nullif(patient_id, '') END AS patient_id, patient_id AS src_patient_id, CASE WHEN starts_with(fracture_date, ' ') OR ends_with(fracture_date, ' ') THEN nullif(trim(fracture_date), '') ELSE nullif(fracture_date, '') END AS fracture_date, fracture_date AS src_fracture_date, CASE WHEN starts_with(site, ' ') OR ends_with(site, ' ') THEN nullif(trim(site), '') ELSE nullif(site, '') END AS site, site AS src_site, CASE WHEN starts_with(fragility, ' ') OR ends_with(fragility, ' ') THEN nullif(trim(fragility), '') ELSE nullif(fragility, '') END AS fragility, fragility AS src_fragility, CASE WHEN starts_with(code, ' ') OR ends_with(code, ' ') THEN nullif(trim(code), '') ELSE nullif(code, '') END AS code, code AS src_code, CASE WHEN starts_with(code_system, ' ') OR ends_with(code_system, ' ') THEN nullif(trim(code_system), '') ELSE nullif(code_system, '') END AS code_system, code_system AS src_code_system, CASE WHEN starts_with(status, ' ') OR ends_with(status, ' ') THEN nullif(trim(status), '') ELSE nullif(status, '') END AS status, status AS src_status, CASE WHEN starts_with(result_id, ' ') OR ends_with(result_id, ' ') THEN nullif(trim(result_id), '') ELSE nullif(result_id, '') END AS result_id, result_id AS src_result_id FROM src_example) AS s
    ) AS t) AS t
) AS d

