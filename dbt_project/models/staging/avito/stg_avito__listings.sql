-- Avito listings renamed, cast and parsed from their display texts.
with source as (
    select * from {{ source('raw', 'listings') }}
    where source = 'avito'
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
