-- Listings from CSV exports, in the same shape as the scraped ones; the site is in `source`.
with source as (
    select * from {{ source('raw', 'imported_listings') }}
),

renamed as (
    select
{{ staged_listing_columns() }},
        'import' as ingestion,
        import_file,
        import_row
    from source
),

parsed as (
    select
        *,
{{ mileage_columns() }}
    from renamed
)

select * from parsed
