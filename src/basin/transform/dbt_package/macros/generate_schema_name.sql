{#-
    Schema naming for write-audit-publish.

    Models land in the schema their config names (staging, marts, …), not
    <target>_<schema>: each environment is its own warehouse or database.
    Schemas that Basin publishes (publish.schemas in basin.yml) are built under an
    audit name (marts → marts_audit) on engines that publish by swapping schemas
    (PostgreSQL, Snowflake); consumers read the published name only after the
    quality gate passed. On DuckDB the suffix is empty: the whole pipeline file is
    private and publishing copies the audited schemas into a new snapshot file.

    Use it from the root project:
        {% macro generate_schema_name(custom_schema_name, node) -%}
            {{ basin.generate_schema_name(custom_schema_name, node) }}
        {%- endmacro %}
-#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- set name = (custom_schema_name or target.schema) | trim -%}
    {%- if name in var('basin_publish_schemas', []) -%}
        {{ name ~ var('basin_audit_suffix', '') }}
    {%- else -%}
        {{ name }}
    {%- endif -%}
{%- endmacro %}
