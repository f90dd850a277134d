{#- Registry contract section 5: which delivered version of a result the marts show.

    `statuses` is the seed result_statuses (passed in so dbt sees the dependency of the model).
    Versions of one result (same identity) are ordered by delivery: (load_id, source_row). Only
    statuses whose seed `result_statuses.effect` is current/replace/remove/no_value count; `wait`
    statuses (preliminary and pending) are ignored. The latest counting version wins: if it is
    final (F, C, A: `is_final`) it is the current result, if it removes the result (D, W) or
    carries no value (X, N) the result leaves the marts. A preliminary alone never reaches them.

    HL7 `U` (effect `finalise`; contract 3: final without retransmission) carries no value of its
    own: it makes the preliminary versions delivered before it (seed `fhir_status` preliminary:
    P, R, S) final, so the latest of them is the current result unless a later version counts.
    `current_status` is the status the marts show: `U` for a preliminary value made final.

    `where_after` (over the version's columns) filters the current versions, e.g. fragility
    fractures only. It runs after the current version was chosen over every version of the
    identity, so a re-sent fracture whose fragility changed true -> false replaces the old one.
-#}
{% macro current_final_versions(relation, statuses, identity_columns, where_after=none) -%}
select *
from (
    select
        versions.*,
        row_number() over (
            partition by {{ identity_columns | join(', ') }}
            order by versions.load_id desc, versions.source_row desc
        ) as version_rank
    from (
        select
            versions.*,
            statuses.is_final as status_is_final,
            statuses.effect as status_effect,
            statuses.fhir_status = 'preliminary' as status_is_preliminary,
            max(case when statuses.effect = 'finalise' then versions.status end) over (
                partition by {{ identity_columns | join(', ') }}
                order by versions.load_id desc, versions.source_row desc
                rows between unbounded preceding and 1 preceding
            ) as finalised_by_status
        from {{ relation }} as versions
        inner join {{ statuses }} as statuses
            on statuses.status = versions.status
    ) as versions
    where versions.status_effect not in ('wait', 'finalise')
       or (versions.status_is_preliminary and versions.finalised_by_status is not null)
) as counted
where version_rank = 1
  and (status_is_final or finalised_by_status is not null)
{%- if where_after %}
  and {{ where_after }}
{%- endif %}
{%- endmacro %}

{#- The status a current version shows in the marts (see current_final_versions). -#}
{% macro current_status(versions) -%}
case when {{ versions }}.status_is_final then {{ versions }}.status else {{ versions }}.finalised_by_status end
{%- endmacro %}
