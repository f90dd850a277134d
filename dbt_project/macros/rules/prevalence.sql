{#- Prevalence statistics (registry contract section 6). -#}

{#- Wilson score interval (Wilson 1927, JASA 22:209) for k successes in n trials; z is a var.
    At the boundaries the interval is closed exactly: k = 0 has lower bound 0 and k = n upper
    bound 1 (the formula gives +-1e-17 there, which fails "prevalence within its interval"). -#}
{% macro wilson_bound(k, n, sign) -%}
{%- set z = var('wilson_z') -%}
case
    when {{ n }} is null or {{ n }} <= 0 then null
    {% if sign == '-' -%}
    when {{ k }} = 0 then cast(0 as {{ type_double() }})
    {%- else -%}
    when {{ k }} = {{ n }} then cast(1 as {{ type_double() }})
    {%- endif %}
    else
    (
        (cast({{ k }} as {{ type_double() }}) / {{ n }} + {{ z }} * {{ z }} / (2.0 * {{ n }}))
        {{ sign }} {{ z }} * sqrt(
            (cast({{ k }} as {{ type_double() }}) / {{ n }}) * (1 - cast({{ k }} as {{ type_double() }}) / {{ n }}) / {{ n }}
            + {{ z }} * {{ z }} / (4.0 * {{ n }} * {{ n }})
        )
    ) / (1 + {{ z }} * {{ z }} / {{ n }})
end
{%- endmacro %}

{% macro wilson_low(k, n) -%}{{ wilson_bound(k, n, '-') }}{%- endmacro %}
{% macro wilson_high(k, n) -%}{{ wilson_bound(k, n, '+') }}{%- endmacro %}

{#- Primary suppression (contract section 6, disclosure control): a count from 1 to
    `small_cell_limit` - 1 is never shown; 0 discloses nobody. -#}
{% macro is_small_count(count) -%}
({{ count }} between 1 and {{ var('small_cell_limit') }} - 1)
{%- endmacro %}

{#- A prevalence cell is suppressed when its denominator, its numerator or their difference is
    a small count: any of the three gives the others away. Secondary suppression (cells hidden
    so that no primary cell can be recovered from the published margins) is applied to the
    published snapshot by etl/disclosure, which needs the whole release at once. -#}
{% macro is_small_cell(n, k) -%}
({{ is_small_count(n) }} or {{ is_small_count(k) }} or {{ is_small_count(n ~ ' - ' ~ k) }})
{%- endmacro %}

{#- Contract section 6: prevalence counts patients, not scans. Each patient counts once per
    calendar year of the scan, through their latest assessment of that year that has a matched
    plausible magnesium result; deficient when that assessment's `mg_deficient` is true. -#}
{% macro mg_prevalence_population(assessments, flags) -%}
select *
from (
    select
        assessments.assessment_id,
        assessments.patient_key,
        cast(extract(year from assessments.scan_date) as integer) as year,
        assessments.sex,
        -- the assessment's own band: certain even where a partial birth date leaves the age empty
        assessments.age_band,
        assessments.who_category,
        flags.mg_deficient,
        row_number() over (
            partition by assessments.patient_key, extract(year from assessments.scan_date)
            order by assessments.scan_date desc
        ) as year_rank
    from {{ assessments }} as assessments
    inner join {{ flags }} as flags
        on flags.assessment_id = assessments.assessment_id
    where flags.mg_mmol_l is not null
) as ranked
where year_rank = 1
{%- endmacro %}

{#- The published columns of a prevalence cell: counts, rate and Wilson interval, all empty
    when the cell is suppressed, and why (`primary` here; `secondary` added at publication). -#}
{% macro suppressed_prevalence_columns(n, k) -%}
    case when not {{ is_small_cell(n, k) }} then {{ n }} end as n_assessed,
    case when not {{ is_small_cell(n, k) }} then {{ k }} end as n_deficient,
    case when not {{ is_small_cell(n, k) }} then cast({{ k }} as {{ type_double() }}) / {{ n }} end as prevalence,
    case when not {{ is_small_cell(n, k) }} then {{ wilson_low(k, n) }} end as ci_low,
    case when not {{ is_small_cell(n, k) }} then {{ wilson_high(k, n) }} end as ci_high,
    {{ is_small_cell(n, k) }} as suppressed,
    case when {{ is_small_cell(n, k) }} then 'primary' end as suppression
{%- endmacro %}
