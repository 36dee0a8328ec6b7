{{ config(materialized='view') }}
-- The trusted listing observations (one per listing and scrape partition), with one spelling per model. A view:
-- its readers take the columns they need from int_listings_normalized, and a copy of every trusted row each day
-- (2.5 s at a million) is not made.
with normalized as (
    select * from {{ ref('int_listings_normalized') }}
    where rejection_reason is null
),

canonical_models as (
    select * from {{ ref('int_model_spellings') }}
),

final as (
    select
        normalized.* exclude (model_key, model_alias, rejection_reason, vehicle_kind, place_raw),
        coalesce(normalized.model_alias, canonical_models.model_spelling) as model,
        coalesce(normalized.scraped_at, cast(normalized.posted_at as timestamptz)) as observed_at
    from normalized
    left join canonical_models
        on canonical_models.brand = normalized.brand and canonical_models.model_key = normalized.model_key
)

select * from final
