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

    HL7 `U` (effect `finalise`; contract 3: final without retransmission) carries no value of its
    own: it makes the preliminary versions delivered before it (seed `fhir_status` preliminary:
    P, R, S) final, so the latest of them is the current result unless a later version counts.
    `current_status` is the status the marts show: `U` for a preliminary value made final.

    `where_after` (over the version's columns) filters the current versions, e.g. fragility
    fractures only. It runs after the current version was chosen over every version of the
    identity, so a re-sent fracture whose fragility changed true -> false replaces the old one.
-#}
{% macro current_final_versions(relation, statuses, identity_columns, where_after=none) -%}
{%- set newest_first -%}
    partition by {{ identity_columns | join(', ') }}
    order by versions.reported_at desc nulls last,
        versions.version_seq desc nulls last,
        versions.load_id desc, versions.source_row desc
{%- endset %}
select *
from (
    select
        versions.*,
        row_number() over ({{ newest_first }}) as version_rank
    from (
        select
            versions.*,
            statuses.is_final as status_is_final,
            statuses.effect as status_effect,
            statuses.fhir_status = 'preliminary' as status_is_preliminary,
            -- a U in the same order as the versions themselves (the source's time first)
            max(case when statuses.effect = 'finalise' then versions.status end) over (
                {{ newest_first }}
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

{#- Registry contract section 5: the identity of a lab result (also of a vital sign sent as a
    result), for `current_final_versions`: the FHIR resource id when present; else the
    accession + code; else patient + code + collection time. One list, so labs and vital signs
    cannot drift apart on what counts as a new version of the same result. -#}
{% macro lab_result_identity_columns() -%}
{{ return([
    'versions.patient_id',
    'versions.result_id',
    'case when versions.result_id is null then versions.accession_id end',
    'case when versions.result_id is null then coalesce(versions.loinc_code, versions.code) end',
    'case when versions.result_id is null and versions.accession_id is null then versions.collected_at end',
]) }}
{%- endmacro %}
