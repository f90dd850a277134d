-- One row per patient with a plausible serum/plasma result of a model analyte (osteoreg issue
-- 15, pre-DXA triage): the patient's latest lab panel date (`index_date`), the latest result of
-- each analyte within var prescan_lab_window_days before it (never after), the age and
-- demographics at that date, and whether the patient had no DXA scan from var
-- triage_no_dxa_within_years years before the index date onwards (`is_dxa_referral_candidate`).
-- The pre-scan risk models score the candidates at their index date.
{{ incremental_by_build_scope() }}
with panels as (
    select patient_key, max(collected_date) as index_date
    from ({{ model_lab_results(ref('fct_lab_result')) }}) as labs
    {%- if is_incremental() %}
    where {{ in_build_scope('labs.patient_key') }}
    {%- endif %}
    group by patient_key
),

matches as (
    {{ latest_lab_before('panels', 'patient_key', 'index_date',
                         ref('fct_lab_result'), var('prescan_lab_window_days')) }}
),

pivoted as (
    {{ pivot_latest_labs('matches') }}
),

scans as (
    select
        panels.patient_key,
        max(case when scans.scan_date <= panels.index_date then scans.scan_date end) as last_scan_on_or_before_index,
        max(case when scans.scan_date >= {{ years_after('panels.index_date', -var('triage_no_dxa_within_years')) }}
                 then 1 else 0 end) = 1 as has_dxa_within_years
    from panels
    inner join {{ ref('int_dxa_scans_pivoted') }} as scans
        on scans.patient_key = panels.patient_key
    group by panels.patient_key
)

select
    panels.patient_key,
    panels.index_date,
    cast({{ age_if_certain(whole_years_between('patients.birth_date_latest', 'panels.index_date'),
                           whole_years_between('patients.birth_date_earliest', 'panels.index_date')) }} as integer) as age_at_index,
    coalesce(patients.sex, 'unknown') as sex,
    patients.menopausal_status,
    scans.last_scan_on_or_before_index,
    not coalesce(scans.has_dxa_within_years, false) as is_dxa_referral_candidate,
    {%- for analyte, value_column, prefix in lab_analyte_columns() %}
    pivoted.{{ value_column }},
    pivoted.{{ prefix }}_days_before as {{ prefix }}_days_before_index,
    {%- endfor %}
    {{ mg_below_op_cutoff('pivoted.mg_mmol_l') }} as mg_below_op_cutoff
from panels
left join pivoted
    on pivoted.anchor_key = panels.patient_key
left join scans
    on scans.patient_key = panels.patient_key
left join {{ ref('int_patients_current') }} as patients
    on patients.patient_key = panels.patient_key
