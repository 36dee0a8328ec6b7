-- One spelling per model, for the trusted listings. The sites differ in case only ("Classe c" on Moteur, "Classe C"
-- on Avito): each model takes the spelling Avito uses most, since Avito's model list is curated, else the most
-- frequent one (int_listings_accepted lets seeded aliases win over both).
with normalized as (
    select * from {{ ref('int_listings_normalized') }}
    where rejection_reason is null
),

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

final as (
    select brand, model_key, arg_max(model_raw, preference) as model_spelling
    from model_spellings
    group by brand, model_key
)

select * from final
