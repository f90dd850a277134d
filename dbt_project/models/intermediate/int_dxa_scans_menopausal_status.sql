-- Per assessment, the menopausal status that belongs to the scan's date (contract 6): the status
-- recorded at the scan wins; else the latest dated patient status on or before the scan date
-- (ties: the later delivery); else the patient's undated status. A dated status never rewrites
-- earlier scans. Empty when none is known: ISCD then goes by age alone (macro iscd_category).
with dated as (
    select
        patient_map.patient_key,
        patients.menopausal_status_date,
        patients.menopausal_status,
        patients.load_id,
        patients.source_row
    from {{ ref('stg_raw__patients') }} as patients
    inner join {{ ref('stg_identity__patient_map') }} as patient_map
        on patient_map.patient_id = patients.patient_id
    where patients.menopausal_status is not null
      and patients.menopausal_status_date is not null
),

dated_at_scan as (
    select
        scans.assessment_id,
        dated.menopausal_status,
        row_number() over (
            partition by scans.assessment_id
            order by dated.menopausal_status_date desc, dated.load_id desc, dated.source_row desc
        ) as status_rank
    from {{ ref('int_dxa_scans_pivoted') }} as scans
    inner join dated
        on dated.patient_key = scans.patient_key
       and dated.menopausal_status_date <= scans.scan_date
)

select
    scans.assessment_id,
    coalesce(scans.scan_menopausal_status, dated_at_scan.menopausal_status, patients.undated_menopausal_status)
        as menopausal_status,
    case
        when scans.scan_menopausal_status is not null then 'scan'
        when dated_at_scan.menopausal_status is not null then 'dated'
        when patients.undated_menopausal_status is not null then 'undated'
    end as menopausal_status_basis
from {{ ref('int_dxa_scans_pivoted') }} as scans
left join dated_at_scan
    on dated_at_scan.assessment_id = scans.assessment_id
   and dated_at_scan.status_rank = 1
left join {{ ref('int_patients_current') }} as patients
    on patients.patient_key = scans.patient_key
