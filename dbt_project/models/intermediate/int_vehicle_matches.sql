-- Pairs of listings that are the same car: reposts (a new id on the same site) and cross-posts (the same car on
-- Avito and Moteur.ma). Blocked on canonical brand, model, year and city; then mileages must agree (exact values
-- within a tolerance, buckets overlapping), prices within dedup_max_price_gap, fuel and gearbox must not differ,
-- and where both ads carry seller hashes at least one of them must agree.
with listings as (
    select
        listing_key,
        source,
        brand,
        model,
        model_year,
        city,
        fuel,
        gearbox,
        price_dh,
        mileage_lower_km,
        mileage_upper_km,
        seller_name_hash,
        seller_phone_hash,
        greatest(
            {{ var('dedup_mileage_tolerance_km') }},
            {{ var('dedup_mileage_tolerance_share') }} * mileage_upper_km
        ) as mileage_slack_km
    from {{ ref('int_listing_states') }}
    where model is not null and city is not null and mileage_lower_km is not null
),

-- Each listing sits in every 10,000 km band its mileage range (with slack) touches, so that
-- an equality join on the band finds every candidate without comparing whole blocks.
-- Prices go in buckets of log width ln(1 / (1 - dedup_max_price_gap)) (a hair wider, against rounding):
-- two prices within the gap are at most one bucket apart, so the join also pairs only neighbouring buckets.
-- A thousand listings of one model, year and city no longer make a million candidate pairs.
band_ranges as (
    select
        listings.*,
        cast(floor((mileage_lower_km - mileage_slack_km) / 10000) as bigint) as first_band,
        cast(floor((mileage_upper_km + mileage_slack_km) / 10000) as bigint) as last_band,
        cast(floor(ln(price_dh) / (-ln(1 - {{ var('dedup_max_price_gap') }}) * 1.0001)) as bigint) as price_bucket
    from listings
    where price_dh > 0
),

banded as (
    select band_ranges.*, unnest(range(first_band, last_band + 1)) as mileage_band
    from band_ranges
),

-- one side of the join in its own price bucket and both neighbours, the other side in its own only
banded_price_neighbours as (
    select banded.*, unnest([price_bucket - 1, price_bucket, price_bucket + 1]) as price_slot
    from banded
),

candidates as (
    select
        a.listing_key as listing_key_a,
        b.listing_key as listing_key_b,
        a.source as source_a,
        b.source as source_b,
        a.price_dh as price_a,
        b.price_dh as price_b,
        a.mileage_lower_km as lower_a,
        a.mileage_upper_km as upper_a,
        b.mileage_lower_km as lower_b,
        b.mileage_upper_km as upper_b,
        greatest(a.mileage_slack_km, b.mileage_slack_km) as slack_km,
        a.fuel as fuel_a,
        b.fuel as fuel_b,
        a.gearbox as gearbox_a,
        b.gearbox as gearbox_b,
        a.seller_name_hash as name_a,
        b.seller_name_hash as name_b,
        a.seller_phone_hash as phone_a,
        b.seller_phone_hash as phone_b
    from banded_price_neighbours as a
    inner join banded as b
        on a.brand = b.brand
        and a.model = b.model
        and a.model_year = b.model_year
        and a.city = b.city
        and a.mileage_band = b.mileage_band
        and a.price_slot = b.price_bucket
        and a.listing_key < b.listing_key
        -- two listings share every band from the later of their first bands on: meeting only in that one
        -- keeps each pair once, without a distinct over the whole candidate list
        and a.mileage_band = greatest(a.first_band, b.first_band)
),

matched as (
    select
        listing_key_a,
        listing_key_b,
        case when source_a = source_b then 'repost' else 'cross_post' end as match_kind
    from candidates
    where lower_a <= upper_b + slack_km
        and lower_b <= upper_a + slack_km
        and abs(price_a - price_b) <= {{ var('dedup_max_price_gap') }} * greatest(price_a, price_b)
        and (fuel_a is null or fuel_b is null or fuel_a = fuel_b)
        and (gearbox_a is null or gearbox_b is null or gearbox_a = gearbox_b)
        and not (
            (phone_a is not null and phone_b is not null and phone_a <> phone_b)
            and (name_a is not null and name_b is not null and name_a <> name_b)
        )
        and not (phone_a is not null and phone_b is not null and phone_a <> phone_b and (name_a is null or name_b is null))
        and not (name_a is not null and name_b is not null and name_a <> name_b and (phone_a is null or phone_b is null))
)

select * from matched
