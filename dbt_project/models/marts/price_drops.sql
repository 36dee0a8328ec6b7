-- Every asking-price decrease, with the listing and how long it had been on the market when the price dropped.
with history as (
    select * from {{ ref('listing_price_history') }}
    where price_change_dh < 0
),

states as (
    select * from {{ ref('int_listing_states') }}
),

vehicles as (
    select * from {{ ref('int_listing_vehicles') }}
),

final as (
    select
        history.price_period_key,
        history.listing_key,
        vehicles.vehicle_id,
        states.source,
        states.brand,
        states.model,
        states.model_year,
        states.city,
        states.region,
        history.previous_price_dh,
        history.price_dh,
        history.price_change_dh,
        round(history.price_change_dh / history.previous_price_dh, 4) as price_change_share,
        history.valid_from as dropped_at,
        date_diff('day', cast(states.first_seen_at as date), cast(history.valid_from as date)) as days_on_market_at_drop,
        states.days_on_market,
        states.still_active
    from history
    inner join states using (listing_key)
    inner join vehicles using (listing_key)
)

select * from final
