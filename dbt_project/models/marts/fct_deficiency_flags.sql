-- One row per assessment (contract 6): the matched lab values in SI, days from the scan, and
-- the deficiency flags. A flag is empty, not false, when no plausible result matched.
-- Hypocalcemia reads the calcium named in `calcium_basis` (macro calcium_basis). The analytes are
-- the models' (macro lab_analyte_columns) plus the calcium the laboratory corrected for albumin.
{%- set matched = lab_analyte_columns() + [('calcium_corrected', 'calcium_lab_corrected_mmol_l', 'calcium_lab_corrected')] %}
{{ incremental_by_build_scope() }}
with matched as (
    select
        assessment_id,
        {%- for analyte, value_column, prefix in matched %}
        max(case when analyte = '{{ analyte }}' then value_si end) as {{ value_column }},
        max(case when analyte = '{{ analyte }}' then days_from_scan end) as {{ prefix }}_days_from_scan{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ ref('int_labs_matched_to_scans') }}
    group by assessment_id
)

select
    scans.assessment_id,
    scans.patient_key,
    matched.mg_mmol_l,
    matched.mg_days_from_scan,
    {{ mg_deficient('matched.mg_mmol_l') }} as mg_deficient,
    {{ mg_below_op_cutoff('matched.mg_mmol_l') }} as mg_below_op_cutoff,
    matched.vitd_nmol_l,
    matched.vitd_days_from_scan,
    {{ vitd_status('matched.vitd_nmol_l') }} as vitd_status,
    matched.calcium_mmol_l,
    matched.calcium_days_from_scan,
    matched.albumin_g_l,
    matched.albumin_days_from_scan,
    corrected.calcium_corrected_mmol_l,
    matched.calcium_lab_corrected_mmol_l,
    matched.calcium_lab_corrected_days_from_scan,
    {{ calcium_basis('matched.calcium_mmol_l', 'corrected.calcium_corrected_mmol_l', 'matched.calcium_lab_corrected_mmol_l') }} as calcium_basis,
    {{ hypocalcemia('matched.calcium_mmol_l', 'corrected.calcium_corrected_mmol_l', 'matched.calcium_lab_corrected_mmol_l') }} as hypocalcemia,
    matched.phosphate_mmol_l,
    matched.phosphate_days_from_scan,
    {{ hypophosphatemia('matched.phosphate_mmol_l') }} as hypophosphatemia,
    matched.pth_ng_l,
    matched.pth_days_from_scan,
    {{ pth_elevated('matched.pth_ng_l') }} as pth_elevated,
    matched.crp_mg_l,
    matched.crp_days_from_scan,
    {{ crp_elevated('matched.crp_mg_l') }} as crp_elevated,
    matched.beta_ctx_ng_ml,
    matched.beta_ctx_days_from_scan,
    matched.p1np_ng_ml,
    matched.p1np_days_from_scan
from {{ ref('int_dxa_scans_pivoted') }} as scans
left join matched
    on matched.assessment_id = scans.assessment_id
left join {{ ref('int_calcium_albumin_corrected') }} as corrected
    on corrected.assessment_id = scans.assessment_id
{%- if is_incremental() %}
where {{ in_build_scope('scans.patient_key') }}
{%- endif %}
