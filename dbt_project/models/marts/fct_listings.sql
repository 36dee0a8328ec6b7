{{
    config(
        materialized='incremental',
        unique_key='vehicle_id',
        incremental_strategy='delete+insert',
        on_schema_change='sync_all_columns',
        post_hook=[
            "{% if is_incremental() %}{{ drop_vanished_vehicles() }}{% endif %}",
            "{% if is_incremental() %}{{ refresh_vehicle_still_active() }}{% endif %}",
        ],
    )
}}
-- One row per vehicle in its current state: reposts and cross-posts of one car collapse onto its first-seen
-- (representative) listing, with the vehicle's latest asking price and price-history aggregates.
-- Incremental: a run rebuilds the vehicles with a listing rebuilt in int_listing_states since this table's last build
-- (states_built_at), and those new to it or whose listings changed in number; the post-hooks drop vehicles that are
-- gone and move still_active for the rest.
{%- set incremental = is_incremental()
    and 'states_built_at' in adapter.get_columns_in_relation(this) | map(attribute='name') %}
with vehicles as (
    select * from {{ ref('int_listing_vehicles') }}
),

{% if incremental %}
rebuilt_listings as (
    select listing_key
    from {{ ref('int_listing_states') }}
    where built_at > (select coalesce(max(states_built_at), cast('1900-01-01' as timestamptz)) from {{ this }})
),

-- a vehicle a listing joined or left since the last build either has a rebuilt listing, or a listing count this
-- table does not hold
changed_vehicles as (
    select vehicle_id from vehicles where listing_key in (select listing_key from rebuilt_listings)
    union
    select vehicles.vehicle_id
    from vehicles
    left join {{ this }} as built
        on built.vehicle_id = vehicles.vehicle_id and built.vehicle_listings = vehicles.vehicle_listings
    where vehicles.is_representative and built.vehicle_id is null
),

vehicle_listings as (
    select * from vehicles where vehicle_id in (select vehicle_id from changed_vehicles)
),
{% else %}
vehicle_listings as (
    select * from vehicles
),
{% endif %}

states as (
    select * from {{ ref('int_listing_states') }}
    {% if incremental %}
    where listing_key in (select listing_key from vehicle_listings)
    {% endif %}
),

listing_prices as (
    select
        listing_key,
        arg_min(price_dh, valid_from) as first_price_dh,
        count(*) - 1 as price_changes,
        count(*) filter (where price_change_dh < 0) as price_drops
    from {{ ref('listing_price_history') }}
    {% if incremental %}
    where listing_key in (select listing_key from vehicle_listings)
    {% endif %}
    group by listing_key
),

-- what a vehicle aggregates, per listing; the wide columns join the representatives only, in final
listed as (
    select
        states.listing_key,
        states.source,
        states.price_dh,
        states.first_seen_at,
        states.last_seen_at,
        states.still_active,
        states.built_at,
        listing_prices.first_price_dh,
        listing_prices.price_changes,
        listing_prices.price_drops,
        vehicles.vehicle_id,
        vehicles.vehicle_listings,
        vehicles.is_representative
    from states
    inner join vehicle_listings as vehicles using (listing_key)
    inner join listing_prices using (listing_key)
),

-- Only reposted and cross-posted cars need aggregating: a group by over every listing cost most of this model,
-- while a car listed once simply keeps its listing's figures (the singles branch below).
per_vehicle as (
    select
        vehicle_id,
        -- two listings of one car seen at the same moment: the listing key breaks the tie, so reruns agree
        arg_max(price_dh, case when last_seen_at is not null then (last_seen_at, listing_key) end) as current_price_dh,
        arg_min(first_price_dh, case when first_seen_at is not null then (first_seen_at, listing_key) end)
            as vehicle_first_price_dh,
        min(first_seen_at) as vehicle_first_seen_at,
        max(last_seen_at) as vehicle_last_seen_at,
        sum(price_changes) as vehicle_price_changes,
        sum(price_drops) as vehicle_price_drops,
        bool_or(still_active) as vehicle_still_active,
        max(built_at) as states_built_at,
        count(distinct source) > 1 as is_cross_posted,
        count(*) - count(distinct source) as reposts,
        string_agg(distinct source, ',' order by source) as sources
    from listed
    where vehicle_listings > 1
    group by vehicle_id
),

singles as (
    select
        vehicle_id,
        -- the aggregates' own rules for one row: arg_max/arg_min skip a row whose ordering value is null
        case when last_seen_at is not null then price_dh end as current_price_dh,
        case when first_seen_at is not null then first_price_dh end as vehicle_first_price_dh,
        first_seen_at as vehicle_first_seen_at,
        last_seen_at as vehicle_last_seen_at,
        cast(price_changes as hugeint) as vehicle_price_changes,
        cast(price_drops as hugeint) as vehicle_price_drops,
        still_active as vehicle_still_active,
        built_at as states_built_at,
        false as is_cross_posted,
        cast(0 as bigint) as reposts,
        source as sources
    from listed
    where vehicle_listings = 1
),

vehicles_aggregated as (
    select * from per_vehicle
    union all by name
    select * from singles
),

final as (
    select
        listed.listing_key,
        listed.vehicle_id,
        states.source,
        states.listing_id,
        states.url,
        states.title,
        states.brand,
        states.brand_segment,
        states.model,
        states.model_year,
        states.mileage_km,
        states.mileage_is_estimated,
        states.mileage_lower_km,
        states.mileage_upper_km,
        states.fuel,
        states.gearbox,
        states.fiscal_power,
        states.doors,
        states.origin,
        states.condition,
        states.first_owner,
        per_vehicle.current_price_dh as price_dh,
        per_vehicle.vehicle_first_price_dh as first_price_dh,
        per_vehicle.current_price_dh - per_vehicle.vehicle_first_price_dh as price_change_dh,
        per_vehicle.vehicle_price_changes as price_changes,
        per_vehicle.vehicle_price_drops as price_drops,
        states.city,
        states.province,
        states.region,
        states.sector_raw as sector,
        states.seller_type,
        states.seller_name_hash,
        states.seller_phone_hash,
        states.posted_at,
        states.posted_date,
        per_vehicle.vehicle_first_seen_at as first_seen_at,
        per_vehicle.vehicle_last_seen_at as last_seen_at,
        date_diff('day', cast(per_vehicle.vehicle_first_seen_at as date), cast(per_vehicle.vehicle_last_seen_at as date))
            as days_on_market,
        per_vehicle.vehicle_still_active as still_active,
        listed.vehicle_listings,
        per_vehicle.sources,
        per_vehicle.is_cross_posted,
        per_vehicle.reposts,
        states.ingestion,
        states.import_file,
        states.scrape_date,
        states.scraped_at,
        per_vehicle.states_built_at
    from listed
    inner join states using (listing_key)
    inner join vehicles_aggregated as per_vehicle using (vehicle_id)
    where listed.is_representative
)

select * from final
