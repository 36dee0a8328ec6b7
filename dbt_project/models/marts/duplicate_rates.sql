-- Duplicate rate per site: the share of a site's trusted listings that repeat a car already counted
-- (a repost on the same site, or a cross-post of a car first seen on the other site).
with listings as (
    select listing_key, source, vehicle_id, vehicle_listings, is_representative
    from {{ ref('int_listing_vehicles') }}
),

-- only a vehicle with several listings can be cross-posted
vehicle_sources as (
    select vehicle_id, count(distinct source) > 1 as is_cross_posted
    from listings
    where vehicle_listings > 1
    group by vehicle_id
),

final as (
    select
        listings.source,
        count(*) as listings,
        count(distinct listings.vehicle_id) as vehicles,
        count(*) filter (where not listings.is_representative) as duplicate_listings,
        round(count(*) filter (where not listings.is_representative) / count(*), 4) as duplicate_rate,
        count(*) filter (where vehicle_sources.is_cross_posted) as cross_posted_listings
    from listings
    left join vehicle_sources using (vehicle_id)
    group by listings.source
)

select * from final
