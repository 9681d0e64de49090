{#- Models land in the schema their folder names (staging, marts), not
    <target>_<schema>: the environment is already a separate warehouse. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ (custom_schema_name or target.schema) | trim }}
{%- endmacro %}
