-- Moteur.ma listings renamed, cast and parsed; brands arrive upper-case and hyphenated (MERCEDES-BENZ)
-- and cities in ASCII (Fes), which int_listings_normalized maps onto the shared spellings.
with source as (
    select * from {{ source('raw', 'listings') }}
    where source = 'moteur'
),

renamed as (
    select
{{ staged_listing_columns() }},
        'scrape' as ingestion,
        cast(null as varchar) as import_file,
        cast(null as integer) as import_row
    from source
),

parsed as (
    select
        *,
{{ mileage_columns() }}
    from renamed
)

select * from parsed
