{#- The spelling key of seed dxa_manufacturers: lower case, the punctuation senders put between a
    maker's words (`GE-Lunar`, `Hologic, Inc.`) as blanks, runs of up to 8 blanks made one. -#}
{% macro dxa_manufacturer_key(text) -%}
trim(replace(replace(replace(translate(lower({{ text }}), '.,;:-_/()&+', '           '), '  ', ' '), '  ', ' '), '  ', ' '))
{%- endmacro %}
