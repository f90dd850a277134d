{{ incremental_by_build_scope() }}
-- Materialised once here: the scan matching and the albumin correction read it, and the mart
-- fct_lab_result is a view over it (intermediate never reads a mart).
-- Current lab results in SI (contract 5 and 7) with the value and unit as sent kept beside them,
-- and the plausibility flag from seed `plausibility_limits` (value < low or > high: implausible).
-- The spelling of a unit is normalised through seed `unit_aliases`, its meaning converted by
-- seed `unit_conversions`; ingestion quarantines units these cannot convert. The specimen comes
-- from seed `analyte_codes` (contract 5: whole-blood magnesium is kept but never matched).
with converted as (
    select
        labs.patient_key,
        labs.collected_at,
        labs.collected_date,
        codes.analyte,
        codes.specimen,
        labs.loinc_code,
        {{ round_double('labs.value_num * conversions.factor_to_si', var('si_value_decimals')) }} as value_si,
        analytes.si_unit as unit_si,
        labs.value_num as value_original,
        labs.unit_as_sent as unit_original,
        labs.value_comparator,
        labs.status,
        labs.result_id,
        labs.result_key,
        labs.load_id,
        labs.source_row
    from {{ ref('int_lab_results_current') }} as labs
    inner join {{ ref('analyte_codes') }} as codes
        on codes.loinc_code = labs.loinc_code
    inner join {{ ref('analytes') }} as analytes
        on analytes.analyte = codes.analyte
    left join {{ ref('unit_aliases') }} as aliases
        on aliases.unit_alias = labs.unit_key
    left join {{ ref('unit_conversions') }} as conversions
        on conversions.analyte = codes.analyte
       and conversions.unit = aliases.unit
)

select
    converted.patient_key,
    converted.collected_at,
    converted.collected_date,
    converted.analyte,
    converted.specimen,
    converted.loinc_code,
    converted.value_si,
    converted.unit_si,
    converted.value_original,
    converted.unit_original,
    converted.value_comparator,
    case
        when converted.value_si is null then null
        when converted.value_si < limits.low or converted.value_si > limits.high then false
        else true
    end as is_plausible,
    converted.status,
    converted.result_id,
    converted.result_key,
    converted.load_id,
    converted.source_row
from converted
left join {{ ref('plausibility_limits') }} as limits
    on limits.measure = converted.analyte
   and limits.unit = converted.unit_si
{%- if is_incremental() %}
where {{ in_build_scope('converted.patient_key') }}
{%- endif %}
