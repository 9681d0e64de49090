{#- Column and table tests, each its own query. For many rules on one table prefer
    table_contract: one scan instead of one per test. `mostly` is the share of rows
    that must pass (default 1). -#}

{% test range(model, column_name, min_value=none, max_value=none, mostly=1) %}
    {{ return(basin.table_contract_sql(model, [{'rule': 'range', 'column': column_name, 'min': min_value, 'max': max_value, 'mostly': mostly}])) }}
{% endtest %}

{% test regex(model, column_name, pattern, mostly=1) %}
    {{ return(basin.table_contract_sql(model, [{'rule': 'regex', 'column': column_name, 'pattern': pattern, 'mostly': mostly}])) }}
{% endtest %}

{% test values_in_set(model, column_name, values, mostly=1) %}
    {{ return(basin.table_contract_sql(model, [{'rule': 'accepted_values', 'column': column_name, 'values': values, 'mostly': mostly}])) }}
{% endtest %}

{% test not_null_mostly(model, column_name, mostly=1) %}
    {{ return(basin.table_contract_sql(model, [{'rule': 'not_null', 'column': column_name, 'mostly': mostly}])) }}
{% endtest %}

{% test row_count(model, min_count=none, max_count=none) %}
    {{ return(basin.table_contract_sql(model, [{'rule': 'row_count', 'min': min_count, 'max': max_count}])) }}
{% endtest %}

{% test mean_between(model, column_name, min_value=none, max_value=none) %}
    {{ return(basin.table_contract_sql(model, [{'rule': 'mean', 'column': column_name, 'min': min_value, 'max': max_value}])) }}
{% endtest %}

{% test stddev_between(model, column_name, min_value=none, max_value=none) %}
    {{ return(basin.table_contract_sql(model, [{'rule': 'stddev', 'column': column_name, 'min': min_value, 'max': max_value}])) }}
{% endtest %}

{% test quantile_between(model, column_name, quantile, min_value=none, max_value=none) %}
    {{ return(basin.table_contract_sql(model, [{'rule': 'quantile', 'column': column_name, 'q': quantile, 'min': min_value, 'max': max_value}])) }}
{% endtest %}

{% test freshness(model, column_name, max_age_hours) %}
    {{ return(basin.table_contract_sql(model, [{'rule': 'freshness', 'column': column_name, 'max_age_hours': max_age_hours}])) }}
{% endtest %}
