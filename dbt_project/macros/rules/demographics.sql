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
