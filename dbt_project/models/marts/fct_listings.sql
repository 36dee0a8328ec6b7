-- One row per vehicle in its current state: reposts and cross-posts of one car collapse onto its first-seen
-- (representative) listing, with the vehicle's latest asking price and price-history aggregates.
with states as (
    select * from {{ ref('int_listing_states') }}
),

vehicles as (
    select * from {{ ref('int_listing_vehicles') }}
),

listing_prices as (
    select
        listing_key,
        arg_min(price_dh, valid_from) as first_price_dh,
        count(*) - 1 as price_changes,
        count(*) filter (where price_change_dh < 0) as price_drops
    from {{ ref('listing_price_history') }}
    group by listing_key
),

listed as (
    select
        states.*,
        listing_prices.first_price_dh,
        listing_prices.price_changes,
        listing_prices.price_drops,
        vehicles.vehicle_id,
        vehicles.vehicle_listings,
        vehicles.is_representative
    from states
    inner join vehicles using (listing_key)
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
        listed.source,
        listed.listing_id,
        listed.url,
        listed.title,
        listed.brand,
        listed.brand_segment,
        listed.model,
        listed.model_year,
        listed.mileage_km,
        listed.mileage_is_estimated,
        listed.mileage_lower_km,
        listed.mileage_upper_km,
        listed.fuel,
        listed.gearbox,
        listed.fiscal_power,
        listed.doors,
        listed.origin,
        listed.condition,
        listed.first_owner,
        per_vehicle.current_price_dh as price_dh,
        per_vehicle.vehicle_first_price_dh as first_price_dh,
        per_vehicle.current_price_dh - per_vehicle.vehicle_first_price_dh as price_change_dh,
        per_vehicle.vehicle_price_changes as price_changes,
        per_vehicle.vehicle_price_drops as price_drops,
        listed.city,
        listed.province,
        listed.region,
        listed.sector_raw as sector,
        listed.seller_type,
        listed.seller_name_hash,
        listed.seller_phone_hash,
        listed.posted_at,
        listed.posted_date,
        per_vehicle.vehicle_first_seen_at as first_seen_at,
        per_vehicle.vehicle_last_seen_at as last_seen_at,
        date_diff('day', cast(per_vehicle.vehicle_first_seen_at as date), cast(per_vehicle.vehicle_last_seen_at as date))
            as days_on_market,
        per_vehicle.vehicle_still_active as still_active,
        listed.vehicle_listings,
        per_vehicle.sources,
        per_vehicle.is_cross_posted,
        per_vehicle.reposts,
        listed.ingestion,
        listed.import_file,
        listed.scrape_date,
        listed.scraped_at
    from listed
    inner join vehicles_aggregated as per_vehicle using (vehicle_id)
    where listed.is_representative
)

select * from final
