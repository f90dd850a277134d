{#- Contract section 6: a suppressed prevalence cell publishes no counts and no rates, and an
    unsuppressed one publishes all of them. -#}
{% test empty_when_suppressed(model, column_name) %}
select *
from {{ model }}
where (suppressed and {{ column_name }} is not null)
   or (not suppressed and {{ column_name }} is null)
{% endtest %}
