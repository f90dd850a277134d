{#- Contract section 6: whole years from birth date to scan date (birthday not yet reached that
    year counts one less). Standard SQL, so every adapter computes the same age. -#}
{% macro whole_years_between(start_date, end_date) -%}
(extract(year from {{ end_date }}) - extract(year from {{ start_date }})
 - case
     when extract(month from {{ end_date }}) * 100 + extract(day from {{ end_date }})
          < extract(month from {{ start_date }}) * 100 + extract(day from {{ start_date }})
     then 1 else 0
   end)
{%- endmacro %}

{#- Contract section 6: `<50`, `50-59`, `60-69`, `70-79`, `80+` from the var's lower bounds. -#}
{% macro age_band(age) -%}
{%- set bounds = var('age_band_lower_bounds') -%}
case
    when {{ age }} is null then null
    when {{ age }} < {{ bounds[0] }} then '<{{ bounds[0] }}'
{%- for lower in bounds[:-1] %}
    when {{ age }} < {{ bounds[loop.index] }} then '{{ lower }}-{{ bounds[loop.index] - 1 }}'
{%- endfor %}
    else '{{ bounds[-1] }}+'
end
{%- endmacro %}

{#- A partial birth date (osteoreg issue 13: `1960`, `1960-01`) gives an age range, not an age.
    The age is known only where the earliest and the latest possible birth dates give the same
    whole years; otherwise it is empty, never guessed (a year-only birth date gives an age only
    on 31 December; a month-only one everywhere but in the birth month). -#}
{% macro age_if_certain(age_low, age_high) -%}
case when {{ age_low }} = {{ age_high }} then {{ age_low }} end
{%- endmacro %}

{#- The age band where every possible age falls in the same band (born 1960, scanned in 2024:
    63 or 64, so `60-69`); empty where the range straddles a band's edge. -#}
{% macro age_band_if_certain(age_low, age_high) -%}
case when {{ age_band(age_low) }} = {{ age_band(age_high) }} then {{ age_band(age_low) }} end
{%- endmacro %}

{#- An age that decides "at least `threshold`" as every possible age would: the low end when it
    reaches the threshold, the high end when even that is below, else empty (undecided). -#}
{% macro age_deciding(age_low, age_high, threshold) -%}
case
    when {{ age_low }} >= {{ threshold }} then {{ age_low }}
    when {{ age_high }} < {{ threshold }} then {{ age_high }}
end
{%- endmacro %}
