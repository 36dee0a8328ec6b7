-- Duplicate rate per site: the share of a site's trusted listings that repeat a car already counted
-- (a repost on the same site, or a cross-post of a car first seen on the other site).
with listings as (
    select states.listing_key, states.source, vehicles.vehicle_id, vehicles.is_representative
    from {{ ref('int_listing_states') }} as states
    inner join {{ ref('int_listing_vehicles') }} as vehicles using (listing_key)
),

vehicle_sources as (
    select vehicle_id, count(distinct source) > 1 as is_cross_posted
    from listings
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
    inner join vehicle_sources using (vehicle_id)
    group by listings.source
)

select * from final
