{#- Deficiency flags (registry contract section 6). Each flag is empty, not false, when no
    matching result exists: SQL comparisons with NULL stay NULL. Thresholds are vars. -#}

{% macro mg_deficient(mg_mmol_l) -%}
({{ mg_mmol_l }} < {{ var('mg_deficient_below_mmol_l') }})
{%- endmacro %}

{% macro mg_below_op_cutoff(mg_mmol_l) -%}
({{ mg_mmol_l }} <= {{ var('mg_op_cutoff_at_or_below_mmol_l') }})
{%- endmacro %}

{% macro vitd_status(vitd_nmol_l) -%}
case
    when {{ vitd_nmol_l }} is null then null
    when {{ vitd_nmol_l }} < {{ var('vitd_deficient_below_nmol_l') }} then 'deficient'
    when {{ vitd_nmol_l }} < {{ var('vitd_sufficient_from_nmol_l') }} then 'insufficient'
    else 'sufficient'
end
{%- endmacro %}

{#- Payne 1973: Ca + 0.02 x (40 - albumin g/L); empty without a same-day albumin. -#}
{% macro payne_corrected_calcium(calcium_mmol_l, albumin_g_l) -%}
({{ calcium_mmol_l }} + {{ var('payne_mmol_l_per_g_l_albumin') }} * ({{ var('payne_albumin_reference_g_l') }} - {{ albumin_g_l }}))
{%- endmacro %}

{#- Which calcium hypocalcemia reads (contract 6): the matched total calcium corrected by Payne
    when an albumin was collected the same day (`payne_corrected`); else a matched calcium the
    laboratory delivered already corrected for albumin, LOINC 29265-6 / 46099-8 (`lab_corrected`);
    else the matched total calcium as measured (`total`). Empty when none matched. -#}
{% macro calcium_basis(calcium_mmol_l, payne_corrected_mmol_l, lab_corrected_mmol_l) -%}
case
    when {{ payne_corrected_mmol_l }} is not null then 'payne_corrected'
    when {{ lab_corrected_mmol_l }} is not null then 'lab_corrected'
    when {{ calcium_mmol_l }} is not null then 'total'
end
{%- endmacro %}

{% macro hypocalcemia(calcium_mmol_l, payne_corrected_mmol_l, lab_corrected_mmol_l) -%}
(coalesce({{ payne_corrected_mmol_l }}, {{ lab_corrected_mmol_l }}, {{ calcium_mmol_l }}) < {{ var('hypocalcemia_below_mmol_l') }})
{%- endmacro %}

{% macro hypophosphatemia(phosphate_mmol_l) -%}
({{ phosphate_mmol_l }} < {{ var('hypophosphatemia_below_mmol_l') }})
{%- endmacro %}

{% macro pth_elevated(pth_ng_l) -%}
({{ pth_ng_l }} > {{ var('pth_elevated_above_ng_l') }})
{%- endmacro %}

{% macro crp_elevated(crp_mg_l) -%}
({{ crp_mg_l }} > {{ var('crp_elevated_above_mg_l') }})
{%- endmacro %}
