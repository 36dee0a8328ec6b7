-- Quarantine: every raw row that cannot be trusted, with the first reason code it failed on
-- (thresholds are dbt vars in dbt_project.yml).
with normalized as (
    select * from {{ ref('int_listings_normalized') }}
),

final as (
    select
        listing_key,
        source,
        ingestion,
        import_file,
        import_row,
        scrape_date,
        rejection_reason,
        category,
        brand_raw,
        brand,
        brand_segment,
        model_raw,
        model_year,
        price_text,
        price_dh,
        mileage_text,
        mileage_lower_km,
        city_raw,
        city,
        url,
        scraped_at
    from normalized
    where rejection_reason is not null
)

select * from final
