-- Each listing's vehicle: the connected component of int_vehicle_matches it belongs to, found by propagating the
-- smallest listing_key along matches (three rounds cover chains of up to eight ads, far beyond real repost chains).
-- The representative is the component's first-seen listing. Only matched listings take part in the propagation:
-- every other listing is a vehicle of its own.
with states as (
    select listing_key, source, first_seen_at from {{ ref('int_listing_states') }}
),

edges as (
    select listing_key_a as node, listing_key_b as neighbour from {{ ref('int_vehicle_matches') }}
    union all
    select listing_key_b as node, listing_key_a as neighbour from {{ ref('int_vehicle_matches') }}
),

labels_0 as (
    select distinct node, node as label from edges
),
{% for round in range(1, 4) %}
labels_{{ round }} as (
    select
        labels.node,
        least(labels.label, coalesce(min(neighbours.label), labels.label)) as label
    from labels_{{ round - 1 }} as labels
    left join edges on edges.node = labels.node
    left join labels_{{ round - 1 }} as neighbours on neighbours.node = edges.neighbour
    group by labels.node, labels.label
),
{% endfor %}
matched as (
    select
        labels_3.node as listing_key,
        states.source,
        'veh_' || substr(md5(labels_3.label), 1, 16) as vehicle_id,
        states.first_seen_at
    from labels_3
    inner join states on states.listing_key = labels_3.node
),

matched_vehicles as (
    select
        listing_key,
        source,
        vehicle_id,
        count(*) over (partition by vehicle_id) as vehicle_listings,
        row_number() over (partition by vehicle_id order by first_seen_at, listing_key) = 1 as is_representative
    from matched
),

unmatched_vehicles as (
    select
        listing_key,
        source,
        'veh_' || substr(md5(listing_key), 1, 16) as vehicle_id,
        cast(1 as bigint) as vehicle_listings,
        true as is_representative
    from states
    where listing_key not in (select node from labels_0)
),

final as (
    select * from matched_vehicles
    union all
    select * from unmatched_vehicles
)

select * from final
