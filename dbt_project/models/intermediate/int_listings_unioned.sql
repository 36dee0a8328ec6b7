-- Both sites and the CSV imports in one shape, with brand, model and city mapped onto one canonical spelling.
with unioned as (
    select * from {{ ref('stg_avito__listings') }}
    union all by name
    select * from {{ ref('stg_moteur__listings') }}
    union all by name
    select * from {{ ref('stg_imports__listings') }}
),

brands as (
    select * from {{ ref('brands') }}
),

cities as (
    select * from {{ ref('cities') }}
),

branded as (
    select
        unioned.*,
        -- An unknown brand keeps its display spelling, so new brands still show up rather than vanish.
        coalesce(brands.brand, unioned.brand_raw) as brand,
        {{ normalize_key('unioned.model_raw') }} as model_key,
        coalesce(cities.city, unioned.city_raw) as city,
        cities.region
    from unioned
    left join brands on brands.brand_key = {{ normalize_key('unioned.brand_raw') }}
    left join cities on cities.city_key = {{ normalize_key('unioned.city_raw') }}
),

-- The sites differ in case only ("Classe c" on Moteur, "Classe C" on Avito): each model takes the
-- spelling Avito uses most, since Avito's model list is curated, else the most frequent one.
model_spellings as (
    select
        brand,
        model_key,
        model_raw,
        count(*) + 1000000 * max(case when source = 'avito' then 1 else 0 end) as preference
    from branded
    where model_raw is not null
    group by brand, model_key, model_raw
),

canonical_models as (
    select brand, model_key, arg_max(model_raw, preference) as model
    from model_spellings
    group by brand, model_key
),

normalized as (
    select
        branded.* exclude (model_key),
        canonical_models.model
    from branded
    left join canonical_models using (brand, model_key)
)

select * from normalized
