{{ incremental_by_build_scope() }}
-- Body weight (29463-7), height (8302-2) and BMI (39156-5) sent as results: FHIR vital-signs
-- Observations and HL7 OBX segments (contract 4). The current final version of each (contract 5,
-- same identity as lab results), in kg / cm / kg/m2 through seeds unit_aliases and
-- vital_sign_units, flagged by seed plausibility_limits. They are matched to scans like labs
-- (int_vital_signs_matched_to_scans) where the DXA export carries no height or weight.
{%- set vital_signs = {'29463-7': 'weight_kg', '8302-2': 'height_cm', '39156-5': 'bmi'} %}
with current_versions as (
    {{ current_final_versions(
        ref('stg_raw__lab_results'),
        ref('result_statuses'),
        lab_result_identity_columns(),
        where_after="coalesce(loinc_code, case when code_system = 'LOINC' then code end)"
                    ~ " in ('29463-7', '8302-2', '39156-5')",
    ) }}
),

converted as (
    select
        patient_map.patient_key,
        current_versions.collected_at,
        current_versions.collected_date,
        current_versions.load_id,
        current_versions.source_row,
        case coalesce(current_versions.loinc_code, current_versions.code)
            {%- for code, measure in vital_signs.items() %}
            when '{{ code }}' then '{{ measure }}'
            {%- endfor %}
        end as analyte,
        current_versions.value_num * conversions.factor_to_si as value_si
    from current_versions
    inner join {{ ref('stg_identity__patient_map') }} as patient_map
        on patient_map.patient_id = current_versions.patient_id
    left join {{ ref('unit_aliases') }} as aliases
        on aliases.unit_alias = current_versions.unit_key
    left join {{ ref('vital_sign_units') }} as conversions
        on conversions.unit = aliases.unit
       and conversions.measure = case coalesce(current_versions.loinc_code, current_versions.code)
            {%- for code, measure in vital_signs.items() %}
            when '{{ code }}' then '{{ measure }}'
            {%- endfor %}
        end
)

select
    converted.*,
    -- measurements of the body, not of a specimen (macro nearest_lab reads the column)
    cast(null as {{ dbt.type_string() }}) as specimen,
    converted.value_si is not null
        and (limits.measure is null or converted.value_si between limits.low and limits.high) as is_plausible
from converted
left join {{ ref('plausibility_limits') }} as limits
    on limits.measure = converted.analyte
{%- if is_incremental() %}
where {{ in_build_scope('converted.patient_key') }}
{%- endif %}
