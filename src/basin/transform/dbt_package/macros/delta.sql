{#-
    The delta a whole `basin transform` follows: the batches loaded since the last
    whole build that passed against this warehouse (its load ledger says which), given
    to dbt as the environment variable BASIN_DELTA = {"batches": [...], "since":
    "YYYY-MM-DD HH:MM:SS"} — `since` is UTC and earlier than every row of those
    batches was extracted. Without it (the first build, `basin check`, a build of a
    selection) everything counts as new. It is read only while executing (not a
    --vars entry, and not read while parsing: either would make dbt parse the whole
    project again on every build).

    Incremental models take the keys the delta touched:
        where account_id in (select account_id from {{ ref('stg_finance__accounts') }}
                             where {{ basin.in_delta() }})
    or, grouping rows that can move between keys, every version's (`touched` below)
    and the tests below check the rows the delta brought (see delta_tests.sql).
-#}

{#- The delta, or none: every row counts as new (always while parsing, and in a unit
    test: its fixtures' batch ids are not the build's). -#}
{% macro delta() -%}
    {%- if not execute or model.resource_type == 'unit_test' -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set text = env_var('BASIN_DELTA', '') -%}
    {{ return(fromjson(text) if text else none) }}
{%- endmacro %}


{#- True when this build follows a delta (else every row counts as new). -#}
{% macro follows_delta() -%}
    {{ return(basin.delta() is not none) }}
{%- endmacro %}


{#- A predicate: the row came with one of the delta's batches (`column` holds the
    batch id: staging's batch_id, raw's _basin_batch_id). True for every row without a
    delta, for none when no batch is new. -#}
{% macro in_delta(column='batch_id') -%}
    {%- set delta = basin.delta() -%}
    {%- if delta is none -%}
        {#- Names the column even so: a wrong name fails this build, not the next. -#}
        ({{ column }} is null or true)
    {%- elif delta['batches'] | length == 0 -%}
        ({{ column }} is null and false)
    {%- else -%}
        {{ column }} in ({% for b in delta['batches'] %}{{ basin.sql_literal(b) }}{% if not loop.last %}, {% endif %}{% endfor %})
    {%- endif -%}
{%- endmacro %}


{#- A predicate: the row was extracted (or loaded into the vault) no earlier than the
    delta's oldest batch — `column` a timestamp such as a vault model's load_date.
    True for every row without a delta or when its start is unknown. -#}
{% macro in_delta_since(column='load_date') -%}
    {%- set delta = basin.delta() -%}
    {%- if delta is none or delta['since'] is none -%}
        ({{ column }} is null or true)
    {%- elif delta['batches'] | length == 0 -%}
        ({{ column }} is null and false)
    {%- else -%}
        {{ column }} >= {{ basin.utc_timestamp(delta['since']) }}
    {%- endif -%}
{%- endmacro %}


{#- A query: the values of `group` (a column or expression of `relation`) in every
    loaded version of the rows the delta brought, earlier versions included. A row that
    moved from one group to another (a transaction corrected to another account, an
    item to another order) touches both, and its newest version names only the new
    one. `relation` holds every version — a raw source, `source(...)` — `key` is its
    rows' key (a column or a list), `batch_column` its batch id. Without a delta:
    every value of `group`. -#}
{% macro touched(relation, group, key, batch_column='_basin_batch_id') -%}
    {%- set key = (key if key is string else key | join(', ')) %}
    select {{ group }} from {{ relation }}
    {%- if basin.delta() is not none %}
    where ({{ key }}) in (select {{ key }} from {{ relation }} where {{ basin.in_delta(batch_column) }})
    {%- endif %}
{%- endmacro %}


{#- A pre-hook for a model incremental by a key whose rows can all leave it (a day
    whose orders all moved to other days): delete+insert replaces only the keys the new
    result has, so a key left without rows would keep its old row. Deleting the touched
    keys first removes it; the insert then puts back those that still have rows.
        pre_hook="{{ basin.delete_touched('order_date', basin.touched(…)) }}"
    Nothing on a build that is not incremental. -#}
{% macro delete_touched(column, touched_query) -%}
    {%- if is_incremental() -%}
    delete from {{ this }} where {{ column }} in ({{ touched_query }})
    {%- endif -%}
{%- endmacro %}


{% macro utc_timestamp(text) -%}
    {{ return(adapter.dispatch('utc_timestamp', 'basin')(text)) }}
{%- endmacro %}

{% macro default__utc_timestamp(text) -%}
    cast('{{ text }}+00:00' as timestamp with time zone)
{%- endmacro %}

{% macro snowflake__utc_timestamp(text) -%}
    to_timestamp_tz('{{ text }} +00:00', 'YYYY-MM-DD HH24:MI:SS TZH:TZM')
{%- endmacro %}


{#- Which rows of a tested relation the delta brought, as a predicate on it (empty:
    test every row): by its batch id column (batch_id, or raw's _basin_batch_id),
    else by a vault load_date. Tables without either are tested whole. A `batch_id`
    is taken for Basin's only where it is text, and a row whose batch_id does not look
    like one of Basin's (YYYYMMDDTHHMMSSffffffZ-xxxxxx) is tested on every build: a
    column of that name that means something else never hides rows from a test. -#}
{% macro delta_rows_predicate(model) -%}
    {%- set delta = basin.delta() -%}
    {%- if delta is none or model is string -%}
        {{ return('') }}
    {%- endif -%}
    {%- set columns = {} -%}
    {%- for column in adapter.get_columns_in_relation(model) -%}
        {%- do columns.update({column.name | lower: column}) -%}
    {%- endfor -%}
    {%- if '_basin_batch_id' in columns -%}
        {{ return(basin.in_delta('_basin_batch_id')) }}
    {%- elif 'batch_id' in columns and columns['batch_id'].is_string() -%}
        {%- if basin._is_table(model) and basin._only_basin_batch_ids(model) -%}
            {{ return(basin.in_delta('batch_id')) }}
        {%- endif -%}
        {{ return("(" ~ basin.in_delta('batch_id') ~ " or " ~ basin._not_basin_batch_id() ~ ")") }}
    {%- elif 'load_date' in columns and delta['since'] is not none -%}
        {{ return(basin.in_delta_since('load_date')) }}
    {%- endif -%}
    {{ return('') }}
{%- endmacro %}


{% macro _not_basin_batch_id(column='batch_id') -%}
    {{ column }} not like '________T%Z-%'
{%- endmacro %}


{#- True when `model` is a table: on a view the count below would compute the view
    once more, which costs more than the guard it removes. -#}
{% macro _is_table(model) -%}
    {%- set found = adapter.get_relation(model.database, model.schema, model.identifier) -%}
    {{ return(found is not none and found.is_table) }}
{%- endmacro %}


{#- True when every batch_id of `model` looks like Basin's: the test then filters by
    the delta's batches alone. The `or not like` form above makes the engine test every
    row's text (DuckDB, 10M rows: unique on the new keys 0.58 s with it, 0.14 s
    without); this count is one cheap scan of the column (0.013 s there). -#}
{% macro _only_basin_batch_ids(model) -%}
    {%- set found = run_query(
        "select count(*) from " ~ model ~ " where " ~ basin._not_basin_batch_id()
    ) -%}
    {{ return(found.columns[0].values()[0] == 0) }}
{%- endmacro %}
