-- Patients counted as the prevalence marts count them (dbt macro mg_prevalence_population: once
-- per calendar year, through the latest assessment of that year with a matched plausible
-- magnesium), by year, sex and age band: the strata of the standardised prevalence. Not
-- published as such (small cells); only the standardised and crude rates per year are.
with population as (
    select
        cast(extract(year from assessments.scan_date) as integer) as year,
        assessments.sex,
        assessments.age_band,
        flags.mg_deficient
    from marts.fct_bmd_assessment as assessments
    inner join marts.fct_deficiency_flags as flags
        on flags.assessment_id = assessments.assessment_id
    where flags.mg_mmol_l is not null
    qualify row_number() over (partition by assessments.patient_key, extract(year from assessments.scan_date)
                               order by assessments.scan_date desc) = 1
)

select
    year,
    coalesce(sex, 'unknown') as sex,
    age_band,
    count(*) as n_assessed,
    count(*) filter (where mg_deficient) as n_deficient
from population
where age_band is not null
group by all
order by all
