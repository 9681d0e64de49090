{#
  After every dbt invocation (on-run-end of Basin's package): ANALYZE what it built on
  PostgreSQL, so the next model's and the BI's queries are planned on statistics
  instead of waiting for autovacuum. Other engines keep statistics by themselves.
#}
{% macro analyze_built(results) %}
  {% if target.type != 'postgres' or not execute %}
    {{ return('') }}
  {% endif %}
  {% set statements = [] %}
  {% for result in results %}
    {% set node = result.node %}
    {% if result.status == 'success'
          and node.resource_type in ('model', 'snapshot', 'seed')
          and node.config.materialized in ('table', 'incremental', 'snapshot', 'seed') %}
      {% do statements.append('analyze ' ~ adapter.quote(node.schema) ~ '.' ~ adapter.quote(node.alias or node.name)) %}
    {% endif %}
  {% endfor %}
  {{ return(statements | join(';\n')) }}
{% endmacro %}
