{{
    config(
        materialized='incremental',
        unique_key='listing_key',
        incremental_strategy='delete+insert',
        on_schema_change='sync_all_columns',
        post_hook=[
            "{% if is_incremental() %}{{ drop_vanished_price_history() }}{% endif %}",
        ],
    )
}}
-- depends_on: {{ ref('int_listing_states') }}
-- SCD2-style price history: one row per listing and asking-price period. A period opens when the listing is first
-- seen or its price changes (an Avito "oldPrice" is the period before the current one) and closes at the next change.
-- Incremental: a run rebuilds the history of the listings int_listing_states rebuilt since this table's last build
-- (built_at), since only their rows changed; the post-hook drops the history of listings that are gone.
{%- set incremental = is_incremental() and 'built_at' in adapter.get_columns_in_relation(this) | map(attribute='name') %}
with accepted as (
    select * from {{ ref('int_listings_accepted') }}
    {% if incremental %}
    where listing_key in (
        select listing_key from {{ ref('int_listing_states') }}
        where built_at > (select coalesce(max(built_at), cast('1900-01-01' as timestamptz)) from {{ this }})
    )
    {% endif %}
),

observations as (
    select listing_key, observed_at, price_dh from accepted
    union all
    -- The site's previous price, shown next to a dropped one, dates from the posting.
    select listing_key, cast(posted_at as timestamptz) as observed_at, old_price_dh as price_dh
    from accepted
    where old_price_dh is not null and old_price_dh <> price_dh and posted_at is not null
),

ordered as (
    select
        listing_key,
        observed_at,
        price_dh,
        lag(price_dh) over (partition by listing_key order by observed_at, price_dh) as previous_price_dh
    from observations
),

changes as (
    select *
    from ordered
    where previous_price_dh is null or previous_price_dh <> price_dh
),

final as (
    select
        listing_key || '@' || strftime(observed_at, '%Y-%m-%dT%H:%M:%S') as price_period_key,
        listing_key,
        price_dh,
        previous_price_dh,
        price_dh - previous_price_dh as price_change_dh,
        observed_at as valid_from,
        lead(observed_at) over (partition by listing_key order by observed_at) as valid_to,
        lead(observed_at) over (partition by listing_key order by observed_at) is null as is_current,
        current_timestamp as built_at
    from changes
)

select * from final
