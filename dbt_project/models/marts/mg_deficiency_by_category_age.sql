-- Magnesium deficiency prevalence by WHO category x age band, all years pooled, with both margins
-- ('all'): the report's grid. Same population (each patient once per calendar year), Wilson
-- interval and small-cell rule as mg_deficiency_prevalence; assessments without a WHO category or
-- an age band are left out of every cell, margins included.
with population as (
    {{ mg_prevalence_population(ref('fct_bmd_assessment'), ref('fct_deficiency_flags')) }}
),

cells as (
    select
        case when grouping(who_category) = 1 then 'all' else who_category end as who_category,
        case when grouping(age_band) = 1 then 'all' else age_band end as age_band,
        cast(count(*) as bigint) as n_assessed,
        cast(sum(case when mg_deficient then 1 else 0 end) as bigint) as n_deficient
    from population
    where who_category is not null and age_band is not null
    group by grouping sets ((who_category, age_band), (who_category), (age_band), ())
    having count(*) > 0
)

select
    who_category,
    age_band,
    {{ suppressed_prevalence_columns('n_assessed', 'n_deficient') }}
from cells
