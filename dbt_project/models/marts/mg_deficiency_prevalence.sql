-- Magnesium deficiency prevalence by year x sex x age band x WHO category (contract 6), with a
-- Wilson 95% interval; cells below the small-cell limit are suppressed (counts and rates empty).
{{ incremental_by_build_scope(key='year', scope='int_build_scope_years') }}
with population as (
    {{ mg_prevalence_population(ref('fct_bmd_assessment'), ref('fct_deficiency_flags')) }}
),

cells as (
    select
        year,
        sex,
        age_band,
        who_category,
        cast(count(*) as bigint) as n_assessed,
        cast(sum(case when mg_deficient then 1 else 0 end) as bigint) as n_deficient
    from population
    {%- if is_incremental() %}
    where {{ in_build_scope('year', key='year', scope='int_build_scope_years') }}
    {%- endif %}
    group by year, sex, age_band, who_category
)

select
    year,
    sex,
    age_band,
    who_category,
    {{ suppressed_prevalence_columns('n_assessed', 'n_deficient') }}
from cells
