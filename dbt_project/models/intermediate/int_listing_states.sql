{{
    config(
        materialized='incremental',
        unique_key='listing_key',
        incremental_strategy='delete+insert',
        on_schema_change='sync_all_columns',
        post_hook=[
            "{% if is_incremental() %}{{ drop_vanished_listing_states() }}{% endif %}",
            "{% if is_incremental() %}{{ refresh_still_active() }}{% endif %}",
        ],
    )
}}
-- One row per listing (identity kept across days by "<source>:<listing_id>"): its latest observed state plus
-- first seen, last seen, days on market and whether it is still online. Its price history is listing_price_history,
-- which builds after this model, for the listings it rebuilt.
-- Incremental: a run rebuilds only the listings whose trusted rows changed (observations_checksum), since a day adds
-- about one listing in sixty; the post-hooks then drop vanished listings and move still_active for everyone.
-- int_listings_accepted is read where it is used, not through a CTE: DuckDB would materialize a CTE read four times,
-- every column of every trusted row (most of this model's time).
with seen as (
    select
        listing_key,
        min(coalesce(cast(posted_at as timestamptz), observed_at)) as first_seen_at,
        max(observed_at) as last_seen_at,
        count(*) as observations,
        -- any new, re-parsed or removed row, or a new spelling of its model, changes this sum
        sum(hash(normalized_at, model)) as observations_checksum
    from {{ ref('int_listings_accepted') }}
    group by listing_key
),

changed as (
    select seen.*
    from seen
    {#- a table built before observations_checksum existed is rebuilt whole, once -#}
    {% if is_incremental() and 'observations_checksum' in adapter.get_columns_in_relation(this) | map(attribute='name') %}
    left join {{ this }} as built
        on built.listing_key = seen.listing_key
        and built.observations = seen.observations
        and built.observations_checksum = seen.observations_checksum
    where built.listing_key is null
    {% endif %}
),

-- Most listings are seen once, and their one row is their latest: only the others are ordered, since a window
-- over whole rows cost a third of this model.
latest as (
    select *
    from {{ ref('int_listings_accepted') }}
    where listing_key in (select listing_key from changed where observations = 1)
    union all
    (
        select *
        from {{ ref('int_listings_accepted') }}
        where listing_key in (select listing_key from changed where observations > 1)
        qualify row_number() over (
            partition by listing_key order by observed_at desc, scrape_date desc nulls last, import_row
        ) = 1
    )
),

final as (
    select
        latest.*,
        changed.first_seen_at,
        changed.last_seen_at,
        changed.observations,
        changed.observations_checksum,
        cast(changed.first_seen_at as date) as first_seen_date,
        cast(changed.last_seen_at as date) as last_seen_date,
        date_diff('day', cast(changed.first_seen_at as date), cast(changed.last_seen_at as date)) as days_on_market,
        {{ listing_still_active('latest', 'latest_scrapes.latest_scraped_at') }} as still_active,
        -- fct_listings rebuilds the vehicles of the listings rebuilt since its own last build
        current_timestamp as built_at
    from latest
    inner join changed using (listing_key)
    left join ({{ latest_scrapes() }}) as latest_scrapes using (source)
)

select * from final
