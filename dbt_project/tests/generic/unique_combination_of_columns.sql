{#- The grain of a model spans several columns: no two rows may share them (empty values count
    as equal, so a grain with empty parts is still checked). -#}
{% test unique_combination_of_columns(model, combination_of_columns) %}
select {{ combination_of_columns | join(', ') }}, count(*) as n_rows
from {{ model }}
group by {{ combination_of_columns | join(', ') }}
having count(*) > 1
{% endtest %}
