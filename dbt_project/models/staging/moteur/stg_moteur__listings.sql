-- Moteur.ma listings renamed and cast; brands arrive upper-case and hyphenated (MERCEDES-BENZ) and
-- cities in ASCII (Fes), which int_listings_normalized maps onto the shared spellings.
with source as (
    select * from {{ source('raw', 'listings') }}
    where source = 'moteur'
),

renamed as (
    select
{{ staged_listing_columns() }},
        'scrape' as ingestion
    from source
)

select * from renamed
