-- One row per assessment (osteoreg issue 15, INTERFACES 3): for each analyte the latest
-- plausible serum/plasma result collected on or before the scan, within var
-- prescan_lab_window_days before it, and its days before the scan. What the risk models read;
-- the descriptive flags keep the two-sided match of fct_deficiency_flags.
{{ incremental_by_build_scope() }}
with matches as (
    {{ latest_lab_before(ref('int_dxa_scans_pivoted'), 'assessment_id', 'scan_date',
                         ref('fct_lab_result'), var('prescan_lab_window_days')) }}
),

pivoted as (
    {{ pivot_latest_labs('matches') }}
)

select
    scans.assessment_id,
    scans.patient_key,
    scans.scan_date,
    {%- for analyte, value_column, prefix in lab_analyte_columns() %}
    pivoted.{{ value_column }},
    pivoted.{{ prefix }}_days_before as {{ prefix }}_days_before_scan,
    {%- endfor %}
    {{ mg_below_op_cutoff('pivoted.mg_mmol_l') }} as mg_below_op_cutoff
from {{ ref('int_dxa_scans_pivoted') }} as scans
left join pivoted
    on pivoted.anchor_key = scans.assessment_id
{%- if is_incremental() %}
where {{ in_build_scope('scans.patient_key') }}
{%- endif %}
