{#- A count of days before an anchor is never negative (osteoreg issue 15: a model's input is
    never collected after its scan or index date); empty values pass. -#}
{% test not_negative(model, column_name) %}
select *
from {{ model }}
where {{ column_name }} < 0
{% endtest %}
