-- One row per listing in its latest scraped state.
with listings as (
    select * from {{ ref('int_listings_unioned') }}
),

latest as (
    select *
    from listings
    qualify row_number() over (partition by listing_key order by scraped_at desc) = 1
),

final as (
    select
        listing_key,
        source,
        listing_id,
        url,
        title,
        brand,
        model,
        model_year,
        mileage_km,
        fuel,
        gearbox,
        fiscal_power,
        doors,
        origin,
        condition,
        first_owner,
        price_dh,
        city,
        region,
        sector,
        seller_type,
        seller_name_hash,
        seller_phone_hash,
        posted_at,
        posted_date,
        ingestion,
        scrape_date,
        scraped_at
    from latest
)

select * from final
