-- Each listing's vehicle: the connected component of int_vehicle_matches it belongs to, found by propagating the
-- smallest listing_key along matches (three rounds cover chains of up to eight ads, far beyond real repost chains).
-- The representative is the component's first-seen listing.
with states as (
    select listing_key, first_seen_at from {{ ref('int_listing_states') }}
),

edges as (
    select listing_key_a as node, listing_key_b as neighbour from {{ ref('int_vehicle_matches') }}
    union all
    select listing_key_b as node, listing_key_a as neighbour from {{ ref('int_vehicle_matches') }}
),

labels_0 as (
    select listing_key as node, listing_key as label from states
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
components as (
    select
        labels_3.node as listing_key,
        'veh_' || substr(md5(labels_3.label), 1, 16) as vehicle_id,
        states.first_seen_at
    from labels_3
    inner join states on states.listing_key = labels_3.node
),

final as (
    select
        listing_key,
        vehicle_id,
        count(*) over (partition by vehicle_id) as vehicle_listings,
        row_number() over (partition by vehicle_id order by first_seen_at, listing_key) = 1 as is_representative
    from components
)

select * from final
