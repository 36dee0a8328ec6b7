-- The trusted listing observations (one per listing and scrape partition), with one spelling per model.
with normalized as (
    select * from {{ ref('int_listings_normalized') }}
    where rejection_reason is null
),

-- The sites differ in case only ("Classe c" on Moteur, "Classe C" on Avito): each model takes the spelling
-- Avito uses most, since Avito's model list is curated, else the most frequent one; aliases win over both.
model_spellings as (
    select
        brand,
        model_key,
        model_raw,
        count(*) + 1000000 * max(case when source = 'avito' then 1 else 0 end) as preference
    from normalized
    where model_raw is not null
    group by brand, model_key, model_raw
),

canonical_models as (
    select brand, model_key, arg_max(model_raw, preference) as model_spelling
    from model_spellings
    group by brand, model_key
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
