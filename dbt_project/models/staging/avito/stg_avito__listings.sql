-- Avito listings renamed and cast; Avito already spells brands and cities in their display form.
with source as (
    select * from {{ source('raw', 'listings') }}
    where source = 'avito'
),

renamed as (
    select
{{ staged_listing_columns() }},
        'scrape' as ingestion
    from source
)

select * from renamed
