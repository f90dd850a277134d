{#- Registry contract section 5: which delivered version of a result the marts show.

    `statuses` is the seed result_statuses (passed in so dbt sees the dependency of the model).
    Versions of one result (same identity) are ordered by the source's own time of the version
    (`reported_at`: HL7 MSH-7/OBX-19, FHIR meta.lastUpdated or issued), then by its order in the
    source's history (`version_seq`, a FHIR history Bundle), and only then by delivery
    (load_id, source_row): a folder loaded in any order gives the same marts. A version without
    a time of its own ranks below every version that has one. Only
    statuses whose seed `result_statuses.effect` is current/replace/remove/no_value count; `wait`
    statuses (preliminary and pending) are ignored. The latest counting version wins: if it is
    final (F, C, A: `is_final`) it is the current result, if it removes the result (D, W) or
    carries no value (X, N) the result leaves the marts. A preliminary alone never reaches them.
-#}
{% macro current_final_versions(relation, statuses, identity_columns, where=none) -%}
select *
from (
    select
        versions.*,
        statuses.is_final as status_is_final,
        row_number() over (
            partition by {{ identity_columns | join(', ') }}
            order by versions.reported_at desc nulls last,
                versions.version_seq desc nulls last,
                versions.load_id desc, versions.source_row desc
        ) as version_rank
    from {{ relation }} as versions
    inner join {{ statuses }} as statuses
        on statuses.status = versions.status
    where statuses.effect <> 'wait'
    {%- if where %}
      and {{ where }}
    {%- endif %}
) as counted
where version_rank = 1
  and status_is_final
{%- endmacro %}
