{#-
    Data Vault 2.0 from a small spec: hubs, links and satellites (insert-only), and the
    point-in-time (PIT) and bridge tables marts read them through.

    The spec is the dbt project's vault.yml (Basin checks it and passes it as the
    variable basin_vault; see basin/transform/vault.py):

      hubs:
        customer: {source: stg_finance__customers, keys: [customer_id], record_source: finance.customers}
      links:
        customer_account:
          {source: stg_finance__accounts, hubs: {customer: [customer_id], account: [account_id]}, record_source: finance.accounts}
      satellites:
        customer: {source: stg_finance__customers, parent: customer, keys: [customer_id],
                   attributes: [first_name, last_name, segment], record_source: finance.customers}
      pits:
        customer: {hub: customer, satellites: [customer]}
      bridges:
        customer_account: {hub: customer, links: [customer_account]}
      effectivity:
        customer_account: {link: customer_account, driving_hub: account}

    and each model file is one line naming its entry: {{ basin.hub('customer') }},
    {{ basin.link('customer_account') }}, {{ basin.sat('customer') }},
    {{ basin.pit('customer') }}, {{ basin.bridge('customer_account') }},
    {{ basin.eff_sat('customer_account') }}. (Projects that
    keep the spec under vars.vault in dbt_project.yml, keyed by model name, call them
    without a name.) Every source model needs a `loaded_at`
    column that grows batch by batch (Basin's staging models expose the batch's
    extraction time): incremental runs read only rows newer than the model's newest
    `load_date`. Hash keys are
    md5 of the upper-cased, trimmed business keys joined with '||'.
-#}

{% macro _vault_spec(kind, name) -%}
    {%- if name is none -%}
        {%- set spec = var('vault', {}).get(model.name) -%}
        {%- set where = "under vars.vault in dbt_project.yml (or name its entry of vault.yml: {{ basin." ~ kind[:3] ~ "('<name>') }})" -%}
    {%- else -%}
        {%- set spec = var('basin_vault', {}).get(kind, {}).get(name) -%}
        {%- set where = "as " ~ kind ~ "." ~ name ~ " in the dbt project's vault.yml" -%}
    {%- endif -%}
    {%- if spec is none -%}
        {{ exceptions.raise_compiler_error("model " ~ model.name ~ ": no vault spec for it: add it " ~ where) }}
    {%- endif -%}
    {{ return(spec) }}
{%- endmacro %}


{#- The columns a vault model reads from its source are there — a missing `loaded_at`
    (or key, or attribute) is named with the fix, not left to the engine's binder error. -#}
{% macro _vault_source_has(source, columns) -%}
    {%- if execute -%}
        {%- set relation = ref(source) -%}
        {%- set present = adapter.get_columns_in_relation(relation) | map(attribute='name') | map('lower') | list -%}
        {%- set missing = [] -%}
        {%- for c in ['loaded_at'] + columns if c | lower not in present -%}{%- do missing.append(c) -%}{%- endfor -%}
        {%- if present and missing -%}
            {%- set hint = " (loaded_at: when the row's batch was loaded, e.g. `_basin_extracted_at as loaded_at` in the staging model)" if 'loaded_at' in missing else "" -%}
            {{ exceptions.raise_compiler_error("model " ~ model.name ~ ": its source " ~ source ~ " has no column " ~ missing | join(', ') ~ hint ~ "; see vault.yml") }}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}


{#- On an incremental run, only rows loaded after the newest row this model holds:
    every earlier row was offered to it by an earlier run (Basin loads each entity's
    batches in order, and a batch's rows share its extraction time), so the cost
    follows the day's delta instead of the whole staging table (measured at 10M
    transactions: hub, link and satellite of transactions 22 s → see bench/README).
    Rows already in the vault are still excluded by hash key, so a re-read never
    inserts twice. -#}
{% macro _vault_new_rows() -%}
    {%- if is_incremental() -%}
    where loaded_at > (select max(load_date) from {{ this }})
       or (select max(load_date) from {{ this }}) is null
    {%- endif -%}
{%- endmacro %}


{#- The CTE `final`: the rows of CTE `new` whose `value` differs from the newest one
    this model holds for their `key` (all of them on a first build) — how a satellite
    records a change and an effectivity satellite a new relationship. -#}
{% macro _vault_changed(new, key, value) -%}
{% if is_incremental() %}
latest as (

    select {{ key }}, {{ value }}
    from (
        select
            {{ key }},
            {{ value }},
            row_number() over (partition by {{ key }} order by load_date desc) as recency
        from {{ this }}
        -- Only the keys that arrived: the window then ranks a day's keys, not the table.
        where {{ key }} in (select {{ key }} from {{ new }})
    ) as ranked
    where recency = 1

),
{% endif %}

final as (

    select {{ new }}.*
    from {{ new }}
    {% if is_incremental() %}
    left join latest
        on {{ new }}.{{ key }} = latest.{{ key }}
    where latest.{{ value }} is null or latest.{{ value }} <> {{ new }}.{{ value }}
    {% endif %}

)
{%- endmacro %}


{% macro hash_key(columns) -%}
    {%- set parts = [] -%}
    {%- for c in columns -%}
        {%- do parts.append("coalesce(upper(trim(cast(" ~ c ~ " as " ~ dbt.type_string() ~ "))), '^^')") -%}
    {%- endfor -%}
    md5({{ parts | join(" || '||' || ") }})
{%- endmacro %}


{% macro hub(name=none) -%}
    {%- set spec = basin._vault_spec('hubs', name) -%}
    {{ config(materialized='incremental', unique_key=none) }}
    {%- set name = name or model.name | replace('hub_', '') -%}
    {{ basin._vault_source_has(spec['source'], spec['keys']) }}
with

source as (

    select * from {{ ref(spec['source']) }}
    {{ basin._vault_new_rows() }}

),

first_seen as (

    -- Each business key once, with the load date it first arrived: an aggregate, not a
    -- row_number() window, and hashed after it (once a key, not once a row). At 100M
    -- rows under a 3 GB memory_limit the window took 6.1 GB of RSS and 262 s, the
    -- aggregate 3.0 GB and 51 s (DuckDB 1.5.5; bench/README, "scale 100").
    select {% for k in spec['keys'] %}{{ k }}, {% endfor %}min(loaded_at) as load_date

    from source
    -- A row without its business key identifies nothing: it is not a hub's.
    where {% for k in spec['keys'] %}{{ k }} is not null{% if not loop.last %} and {% endif %}{% endfor %}
    group by {{ spec['keys'] | join(', ') }}

),

keyed as (

    select
        {{ basin.hash_key(spec['keys']) }} as {{ name }}_hk,
        {% for k in spec['keys'] %}{{ k }},
        {% endfor %}load_date,
        '{{ spec['record_source'] }}' as record_source

    from first_seen

),

final as (

    select * from keyed
    {% if is_incremental() %}
        -- not exists, not `not in`: 3× faster on DuckDB at 10M keys (no NULL semantics).
        where not exists (select 1 from {{ this }} as known where known.{{ name }}_hk = keyed.{{ name }}_hk)
    {% endif %}

)

select * from final
{%- endmacro %}


{% macro link(name=none) -%}
    {%- set spec = basin._vault_spec('links', name) -%}
    {{ config(materialized='incremental', unique_key=none) }}
    {%- set name = name or model.name | replace('link_', '') %}
    {%- set all_keys = [] -%}
    {%- for hub, keys in spec['hubs'].items() -%}{%- for k in keys -%}{%- do all_keys.append(k) -%}{%- endfor -%}{%- endfor -%}
    {{ basin._vault_source_has(spec['source'], all_keys) }}
with

source as (

    select * from {{ ref(spec['source']) }}
    {{ basin._vault_new_rows() }}

),

first_seen as (

    -- Each combination of business keys once, with the load date it first arrived
    -- (an aggregate, hashed after it: see the hub).
    select {% for k in all_keys | unique %}{{ k }}, {% endfor %}min(loaded_at) as load_date

    from source
    where {% for k in all_keys | unique %}{{ k }} is not null{% if not loop.last %} and {% endif %}{% endfor %}
    group by {{ all_keys | unique | join(', ') }}

),

keyed as (

    select
        {{ basin.hash_key(all_keys) }} as {{ name }}_hk,
        {% for hub, keys in spec['hubs'].items() %}{{ basin.hash_key(keys) }} as {{ hub }}_hk,
        {% endfor %}load_date,
        '{{ spec['record_source'] }}' as record_source

    from first_seen

),

final as (

    select * from keyed
    {% if is_incremental() %}
        -- not exists, not `not in`: 3× faster on DuckDB at 10M keys (no NULL semantics).
        where not exists (select 1 from {{ this }} as known where known.{{ name }}_hk = keyed.{{ name }}_hk)
    {% endif %}

)

select * from final
{%- endmacro %}


{% macro sat(name=none) -%}
    {%- set spec = basin._vault_spec('satellites', name) -%}
    {{ config(materialized='incremental', unique_key=none) }}
    {%- set parent = spec['parent'] -%}
    {{ basin._vault_source_has(spec['source'], spec['keys'] + spec['attributes']) }}
with

source as (

    select * from {{ ref(spec['source']) }}
    {{ basin._vault_new_rows() }}

),

hashed as (

    select
        {{ basin.hash_key(spec['keys']) }} as {{ parent }}_hk,
        {{ basin.hash_key(spec['attributes']) }} as hash_diff,
        {% for a in spec['attributes'] %}{{ a }},
        {% endfor %}loaded_at as load_date,
        '{{ spec['record_source'] }}' as record_source

    from source

),

{{ basin._vault_changed('hashed', parent ~ '_hk', 'hash_diff') }}

select * from final
{%- endmacro %}


{#- Point in time: per hub key and each date one of its satellites changed, the load
    date of each satellite's row current at that date; is_current marks a key's latest
    date. A mart joins it to the satellites on (key, load date) to read every
    attribute as of one moment. Rebuilt whole (hubs change rarely; incremental PITs
    follow the delta in a later step). -#}
{% macro pit(name) -%}
    {%- set spec = basin._vault_spec('pits', name) -%}
    {{ config(materialized='table') }}
    {%- set hk = spec['hub'] ~ '_hk' %}
with

changes as (
{% for sat in spec['satellites'] %}
    select
        {{ hk }},
        load_date as as_of,
        {% for other in spec['satellites'] %}{% if other == sat %}load_date{% else %}cast(null as {{ dbt.type_timestamp() }}){% endif %} as sat_{{ other }}_load_date{% if not loop.last %},
        {% endif %}{% endfor %}

    from {{ ref('sat_' ~ sat) }}
{% if not loop.last %}
    union all
{% endif %}
{%- endfor %}
),

per_date as (

    select
        {{ hk }},
        as_of,
        {% for sat in spec['satellites'] %}max(sat_{{ sat }}_load_date) as sat_{{ sat }}_load_date{% if not loop.last %},
        {% endif %}{% endfor %}

    from changes
    group by {{ hk }}, as_of

),

final as (

    select
        {{ hk }},
        as_of,
        {% for sat in spec['satellites'] %}max(sat_{{ sat }}_load_date) over (
            partition by {{ hk }} order by as_of rows between unbounded preceding and current row
        ) as sat_{{ sat }}_load_date,
        {% endfor %}row_number() over (partition by {{ hk }} order by as_of desc) = 1 as is_current

    from per_date

)

select * from final
{%- endmacro %}


{#- Bridge: from a hub along links, one row per chain of related keys — every hash key
    on the way and each link's own — so a mart joins across several hubs in one step.
    Each link continues from a hub reached before it (vault.yml is checked for that).
    Insert-only like the hubs and links it joins: a build that follows a delta
    (macros/delta.sql) adds the chains that a new hub or link row completes — one
    branch per relation, that relation's new rows joined to the others — and leaves
    the rest. -#}
{% macro bridge(name) -%}
    {%- set spec = basin._vault_spec('bridges', name) -%}
    {{ config(materialized='incremental', unique_key=none) }}
    {%- set links = var('basin_vault', {}).get('links', {}) -%}
    {#- Which relation holds each hub's key: the hub itself, then the first link to reach it. -#}
    {%- set owner = {spec['hub']: 'hub'} -%}
    {%- set steps = [] -%}
    {%- for link in spec['links'] -%}
        {%- set alias = 'l' ~ loop.index -%}
        {%- set hubs = links[link]['hubs'].keys() | list -%}
        {%- set via = (hubs | select('in', owner) | list)[0] -%}
        {%- set new = hubs | reject('in', owner) | list -%}
        {%- do steps.append({'link': link, 'alias': alias, 'via': via, 'new': new}) -%}
        {%- for h in new -%}{%- do owner.update({h: alias}) -%}{%- endfor -%}
    {%- endfor %}
    {%- set branches = ['hub'] + (steps | map(attribute='alias') | list) if is_incremental() else [none] %}
with

chains as (
{%- for branch in branches %}

    select
        hub.{{ spec['hub'] }}_hk,
        {%- for step in steps %}
        {{ step.alias }}.{{ step.link }}_hk,
        {%- for h in step.new %}
        {{ step.alias }}.{{ h }}_hk,
        {%- endfor %}
        {%- endfor %}
        hub.load_date as {{ spec['hub'] }}_load_date

    from {% if branch == 'hub' %}(select * from {{ ref('hub_' ~ spec['hub']) }} where {{ basin.in_delta_since('load_date') }}){% else %}{{ ref('hub_' ~ spec['hub']) }}{% endif %} as hub
    {%- for step in steps %}
    join {% if branch == step.alias %}(select * from {{ ref('link_' ~ step.link) }} where {{ basin.in_delta_since('load_date') }}){% else %}{{ ref('link_' ~ step.link) }}{% endif %} as {{ step.alias }}
        on {{ step.alias }}.{{ step.via }}_hk = {{ owner[step.via] }}.{{ step.via }}_hk
    {%- endfor %}
{%- if not loop.last %}

    union
{%- endif %}
{%- endfor %}

)

select * from chains
{%- if is_incremental() %}
where not exists (
    select 1 from {{ this }} as known
    where {% for step in steps %}known.{{ step.link }}_hk = chains.{{ step.link }}_hk{% if not loop.last %} and {% endif %}{% endfor %}
)
{%- endif %}
{%- endmacro %}



{#- Effectivity satellite: per key of the link's driving hub, a row each time its
    relationship changes — the link's hash key that holds from load_date on. A link
    keeps every relationship that ever existed; this says which one is current (the
    driving key's newest row) and since when (an account moved to another customer and
    back: three rows here, two in the link). Insert-only, reading the link's source. -#}
{% macro eff_sat(name) -%}
    {%- set spec = basin._vault_spec('effectivity', name) -%}
    {{ config(materialized='incremental', unique_key=none) }}
    {%- set link = var('basin_vault', {}).get('links', {}).get(spec['link']) -%}
    {%- if link is none -%}
        {{ exceptions.raise_compiler_error("model " ~ model.name ~ ": effectivity." ~ name ~ ".link " ~ spec['link'] ~ " is not one of the links in vault.yml") }}
    {%- endif -%}
    {%- set driving, driving_columns = basin._eff_driving(spec) -%}
    {%- set all_keys = [] -%}
    {%- for hub, keys in link['hubs'].items() -%}{%- for k in keys -%}{%- do all_keys.append(k) -%}{%- endfor -%}{%- endfor -%}
    {%- set required = all_keys + (driving_columns | reject('in', all_keys) | list) -%}
    {{ basin._vault_source_has(link['source'], required) }}
with

source as (

    select * from {{ ref(link['source']) }}
    {{ basin._vault_new_rows() }}

),

keyed as (

    select
        {{ basin.hash_key(driving_columns) }} as {{ driving }}_hk,
        {{ basin.hash_key(all_keys) }} as {{ spec['link'] }}_hk,
        loaded_at as load_date,
        '{{ link['record_source'] }}' as record_source

    from source
    where {% for k in required %}{{ k }} is not null{% if not loop.last %} and {% endif %}{% endfor %}

),

{{ basin._vault_changed('keyed', driving ~ '_hk', spec['link'] ~ '_hk') }}

select * from final
{%- endmacro %}


{#- A query: the hash keys of the link rows that hold now, by the effectivity
    satellite `relation` of vault.yml's effectivity entry `name` (each driving key's
    newest row). A link keeps every relationship that ever existed — an order moved to
    another customer is in it with both — so a mart reading chains through links keeps
    those whose links hold: `where bridge.customer_order_hk in (…)`. -#}
{% macro current_links(relation, name) -%}
    {%- set spec = basin._vault_spec('effectivity', name) -%}
    {%- set driving = basin._eff_driving(spec)[0] -%}
    select eff.{{ spec['link'] }}_hk
    from {{ relation }} as eff
    join (
        select {{ driving }}_hk, max(load_date) as load_date from {{ relation }} group by {{ driving }}_hk
    ) as newest
        on newest.{{ driving }}_hk = eff.{{ driving }}_hk and newest.load_date = eff.load_date
{%- endmacro %}


{#- An effectivity entry's driving key: its name (the `<name>_hk` column) and the link
    source's columns — a hub of the link (`driving_hub`) or a key that is no hub
    (`driving_key: {order_item: [order_item_id]}`). -#}
{% macro _eff_driving(spec) -%}
    {%- if spec.get('driving_hub') -%}
        {%- set link = var('basin_vault', {}).get('links', {}).get(spec['link'], {}) -%}
        {{ return([spec['driving_hub'], link['hubs'][spec['driving_hub']]]) }}
    {%- endif -%}
    {%- set name = (spec['driving_key'].keys() | list)[0] -%}
    {{ return([name, spec['driving_key'][name]]) }}
{%- endmacro %}
