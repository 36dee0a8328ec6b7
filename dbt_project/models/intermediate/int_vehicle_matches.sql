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
    where brand is not null and model is not null and model_year is not null and city is not null
        and mileage_lower_km is not null
),

-- Each listing sits in every 10,000 km band its mileage range (with slack) touches, so that
-- an equality join on the band finds every candidate without comparing whole blocks.
-- Prices go in buckets of log width ln(1 / (1 - dedup_max_price_gap)) (a hair wider, against rounding):
-- two prices within the gap are at most one bucket apart, so the join also pairs only neighbouring buckets.
-- A thousand listings of one model, year and city no longer make a million candidate pairs.
-- A number stands in for a block's four strings in the join, since integers hash and compare far faster. Numbering
-- the few thousand distinct blocks, not ranking every listing, keeps a sort of the whole table out of this model.
blocks as (
    select brand, model, model_year, city, row_number() over (order by brand, model, model_year, city) as block_no
    from (select distinct brand, model, model_year, city from listings where price_dh > 0)
),

band_ranges as (
    select
        listings.*,
        blocks.block_no,
        cast(floor((mileage_lower_km - mileage_slack_km) / 10000) as bigint) as first_band,
        cast(floor((mileage_upper_km + mileage_slack_km) / 10000) as bigint) as last_band,
        cast(floor(ln(price_dh) / (-ln(1 - {{ var('dedup_max_price_gap') }}) * 1.0001)) as bigint) as price_bucket
    from listings
    inner join blocks using (brand, model, model_year, city)
    where price_dh > 0
),

-- the join carries only what its tests read
banded as (
    select
        listing_key,
        source,
        block_no,
        first_band,
        price_bucket,
        price_dh,
        mileage_lower_km,
        mileage_upper_km,
        mileage_slack_km,
        fuel,
        gearbox,
        seller_name_hash,
        seller_phone_hash,
        unnest(range(first_band, last_band + 1)) as mileage_band
    from band_ranges
),

-- one side of the join in its own price bucket and both neighbours, the other side in its own only
banded_price_neighbours as (
    select banded.*, unnest([price_bucket - 1, price_bucket, price_bucket + 1]) as price_slot
    from banded
),

matched_pairs as (
    select
        a.listing_key as listing_key_a,
        b.listing_key as listing_key_b,
        case when a.source = b.source then 'repost' else 'cross_post' end as match_kind
    from banded_price_neighbours as a
    inner join banded as b
        on a.block_no = b.block_no
        and a.mileage_band = b.mileage_band
        and a.price_slot = b.price_bucket
        and a.listing_key < b.listing_key
        -- two listings share every band from the later of their first bands on: meeting only in that one
        -- keeps each pair once, without a distinct over the whole candidate list
        and a.mileage_band = greatest(a.first_band, b.first_band)
    where a.mileage_lower_km <= b.mileage_upper_km + greatest(a.mileage_slack_km, b.mileage_slack_km)
        and b.mileage_lower_km <= a.mileage_upper_km + greatest(a.mileage_slack_km, b.mileage_slack_km)
        and abs(a.price_dh - b.price_dh) <= {{ var('dedup_max_price_gap') }} * greatest(a.price_dh, b.price_dh)
        and (a.fuel is null or b.fuel is null or a.fuel = b.fuel)
        and (a.gearbox is null or b.gearbox is null or a.gearbox = b.gearbox)
        and not (
            (a.seller_phone_hash is not null and b.seller_phone_hash is not null
                and a.seller_phone_hash <> b.seller_phone_hash)
            and (a.seller_name_hash is not null and b.seller_name_hash is not null
                and a.seller_name_hash <> b.seller_name_hash)
        )
        and not (
            a.seller_phone_hash is not null and b.seller_phone_hash is not null
            and a.seller_phone_hash <> b.seller_phone_hash
            and (a.seller_name_hash is null or b.seller_name_hash is null)
        )
        and not (
            a.seller_name_hash is not null and b.seller_name_hash is not null
            and a.seller_name_hash <> b.seller_name_hash
            and (a.seller_phone_hash is null or b.seller_phone_hash is null)
        )
)

select * from matched_pairs
