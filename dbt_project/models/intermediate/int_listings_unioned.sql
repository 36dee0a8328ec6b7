-- Both sites in one shape, with brand and city mapped onto one canonical spelling.
with unioned as (
    select * from {{ ref('stg_avito__listings') }}
    union all by name
    select * from {{ ref('stg_moteur__listings') }}
),

brands as (
    select * from {{ ref('brands') }}
),

cities as (
    select * from {{ ref('cities') }}
),

normalized as (
    select
        unioned.*,
        -- An unknown brand keeps its display spelling, so new brands still show up rather than vanish.
        coalesce(brands.brand, unioned.brand_raw) as brand,
        -- Model names differ only in case between the sites (Moteur: "Classe c", Avito: "Classe C").
        upper(left(unioned.model_raw, 1)) || substr(unioned.model_raw, 2) as model,
        coalesce(cities.city, unioned.city_raw) as city,
        cities.region
    from unioned
    left join brands on brands.brand_key = {{ normalize_key('unioned.brand_raw') }}
    left join cities on cities.city_key = {{ normalize_key('unioned.city_raw') }}
)

select * from normalized
