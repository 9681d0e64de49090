{#- Dialect differences, dispatched per adapter (duckdb, postgres, snowflake). -#}

{% macro regex_full_match(expression, pattern) -%}
    {{ return(adapter.dispatch('regex_full_match', 'basin')(expression, pattern)) }}
{%- endmacro %}

{% macro default__regex_full_match(expression, pattern) -%}
    regexp_like({{ expression }}, '^(?:{{ pattern }})$')
{%- endmacro %}

{% macro duckdb__regex_full_match(expression, pattern) -%}
    regexp_full_match({{ expression }}, '{{ pattern }}')
{%- endmacro %}

{% macro postgres__regex_full_match(expression, pattern) -%}
    ({{ expression }} ~ '^(?:{{ pattern }})$')
{%- endmacro %}

{% macro snowflake__regex_full_match(expression, pattern) -%}
    {#- Snowflake's REGEXP_LIKE matches the whole string already. -#}
    regexp_like({{ expression }}, '{{ pattern }}')
{%- endmacro %}


{% macro quantile(expression, q) -%}
    {{ return(adapter.dispatch('quantile', 'basin')(expression, q)) }}
{%- endmacro %}

{% macro default__quantile(expression, q) -%}
    percentile_cont({{ q }}) within group (order by {{ expression }})
{%- endmacro %}

{% macro duckdb__quantile(expression, q) -%}
    quantile_cont({{ expression }}, {{ q }})
{%- endmacro %}


{% macro hours_ago(hours) -%}
    {{ return(adapter.dispatch('hours_ago', 'basin')(hours)) }}
{%- endmacro %}

{% macro default__hours_ago(hours) -%}
    (current_timestamp - interval '{{ hours }} hours')
{%- endmacro %}

{% macro snowflake__hours_ago(hours) -%}
    dateadd(hour, -{{ hours }}, current_timestamp())
{%- endmacro %}


{% macro as_double(expression) -%}
    cast({{ expression }} as {{ 'float' if target.type == 'snowflake' else 'double precision' }})
{%- endmacro %}


{% macro sql_literal(value) -%}
    {%- if value is none -%}null
    {%- elif value is string -%}'{{ value | replace("'", "''") }}'
    {%- elif value is sameas true -%}true
    {%- elif value is sameas false -%}false
    {%- else -%}{{ value }}
    {%- endif -%}
{%- endmacro %}
