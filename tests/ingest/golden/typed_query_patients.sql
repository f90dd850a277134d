SELECT d.source_row, d.patient_id, d.sex, d.birth_date, d.menopausal_status, d.ethnicity, d.extra,
       ['missing_patient_id', 'missing_date', 'invalid_date', 'invalid_category'][d.failed_check] AS reason,
       ['patient_id', 'birth_date', 'birth_date', 'menopausal_status'][d.failed_check] AS field,
       CASE WHEN d.failed_check IS NOT NULL THEN json_object('patient_id', d.src_patient_id, 'sex', d.src_sex, 'birth_date', d.src_birth_date, 'menopausal_status', d.src_menopausal_status, 'ethnicity', d.src_ethnicity) END AS payload,
       CASE WHEN d.failed_check IS NULL THEN hash(d.patient_id, d.sex, d.birth_date, d.menopausal_status, d.ethnicity) END AS row_hash
FROM (
    SELECT t.*,
           CASE WHEN t.patient_id IS NULL THEN 1 WHEN t.birth_date_txt IS NULL THEN 2 WHEN t.birth_date IS NULL THEN 3 WHEN t.menopausal_status IS NOT NULL AND NOT CASE WHEN t.menopausal_status IS NULL THEN NULL ELSE CASE t.menopausal_status WHEN 'peri' THEN true WHEN 'post' THEN true WHEN 'pre' THEN true ELSE false END END THEN 4 END AS failed_check
    FROM (
        SELECT s.source_row,
               s.patient_id AS patient_id,
               s.sex AS sex,
               s.birth_date AS birth_date_txt,
               CAST(coalesce(TRY_CAST(left(s.birth_date, length(s.birth_date) - coalesce(length(CASE WHEN length(s.birth_date) > 19 THEN CASE WHEN right(s.birth_date, 1) = 'Z' THEN 'Z' WHEN substr(s.birth_date, -6, 1) IN ('+', '-') AND substr(s.birth_date, -3, 1) = ':' THEN right(s.birth_date, 6) WHEN substr(s.birth_date, -5, 1) IN ('+', '-') THEN right(s.birth_date, 5) WHEN substr(s.birth_date, -3, 1) IN ('+', '-') THEN right(s.birth_date, 3) END END), 0)) AS TIMESTAMP), TRY_STRPTIME(s.birth_date, '%d.%m.%Y')) AS DATE) AS birth_date,
               lower(s.menopausal_status) AS menopausal_status,
               s.ethnicity AS ethnicity,
               NULL::JSON AS extra, s.src_patient_id, s.src_sex, s.src_birth_date, s.src_menopausal_status, s.src_ethnicity
        FROM (SELECT NULL::BIGINT AS source_row, CASE WHEN starts_with(patient_id, ' ') OR ends_with(patient_id, ' ') THEN nullif(trim(patient_id), '') ELSE nullif(patient_id, '') END AS patient_id, patient_id AS src_patient_id, CASE WHEN starts_with(sex, ' ') OR ends_with(sex, ' ') THEN nullif(trim(sex), '') ELSE nullif(sex, '') END AS sex, sex AS src_sex, CASE WHEN starts_with(birth_date, ' ') OR ends_with(birth_date, ' ') THEN nullif(trim(birth_date), '') ELSE nullif(birth_date, '') END AS birth_date, birth_date AS src_birth_date, CASE WHEN starts_with(menopausal_status, ' ') OR ends_with(menopausal_status, ' ') THEN nullif(trim(menopausal_status), '') ELSE nullif(menopausal_status, '') END AS menopausal_status, menopausal_status AS src_menopausal_status, CASE WHEN starts_with(ethnicity, ' ') OR ends_with(ethnicity, ' ') THEN nullif(trim(ethnicity), '') ELSE nullif(ethnicity, '') END AS ethnicity, ethnicity AS src_ethnicity FROM src_example) AS s
    ) AS t
) AS d

