{#- Basin's macro: models land in the schema their folder names (staging, marts);
    published schemas are built under an audit name until the quality gate passes. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ basin.generate_schema_name(custom_schema_name, node) }}
{%- endmacro %}
