{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='sync_all_columns',
        tags=['partitioned'],
        pre_hook=[
            "{% if is_incremental() %}delete from {{ this }} where ingestion = 'import' or {{ partition_window_filter() }}{% endif %}"
        ],
    )
}}
-- Every staged row of both sites and the CSV imports, with canonical brand, city, province and region, and the
-- reason it is quarantined (null when it is trusted). Incremental by scrape day: a run replaces the days between
-- the min_date and max_date vars (the Dagster partition window); CSV imports are small and always reloaded.
with avito as (
    select * from {{ ref('stg_avito__listings') }}
    {% if is_incremental() %}
    where {{ partition_window_filter() }}
    {% endif %}
),

moteur as (
    select * from {{ ref('stg_moteur__listings') }}
    {% if is_incremental() %}
    where {{ partition_window_filter() }}
    {% endif %}
),

imports as (
    select * from {{ ref('stg_imports__listings') }}
),

brands as (
    select * from {{ ref('brands') }}
),

cities as (
    select * from {{ ref('cities') }}
),

sectors as (
    select * from {{ ref('sectors') }}
),

model_aliases as (
    select * from {{ ref('model_aliases') }}
),

unioned as (
    select * from avito
    union all by name
    select * from moteur
    union all by name
    select * from imports
),

located as (
    select
        unioned.*,
        -- Without a city, the sector (or Avito's URL slug, the seller's sector or city) names it.
        coalesce(
            unioned.city_raw,
            unioned.sector_raw,
            case when unioned.source = 'avito' then {{ avito_url_slug('unioned.url') }} end
        ) as place_raw
    from unioned
),

canonical as (
    select
        located.*,
        -- An unknown brand keeps its display spelling, so new brands still show up rather than vanish.
        coalesce(brands.brand, located.brand_raw) as brand,
        coalesce(brands.segment, 'mainstream') as brand_segment,
        coalesce(brands.vehicle_kind, 'car') as vehicle_kind,
        {{ normalize_key('located.model_raw') }} as model_key,
        coalesce(city_by_name.city, sector_city.city) as city
    from located
    left join brands on brands.brand_key = {{ normalize_key('located.brand_raw') }}
    left join cities as city_by_name on city_by_name.city_key = {{ normalize_key('located.place_raw') }}
    left join sectors as sector_city on sector_city.sector_key = {{ normalize_key('located.place_raw') }}
),

placed as (
    select
        canonical.*,
        model_aliases.model as model_alias,
        cities.province,
        cities.region
    from canonical
    left join model_aliases
        on model_aliases.brand = canonical.brand and model_aliases.model_key = canonical.model_key
    left join (select distinct city, province, region from cities) as cities on cities.city = canonical.city
),

classified as (
    select
        placed.*,
        case
            when {{ is_not_a_car_for_sale('category') }} or vehicle_kind <> 'car' then 'not_a_car_for_sale'
            when price_dh is null and price_on_request then 'no_price'
            when price_dh is null then 'unparseable_price'
            when price_dh < {{ var('placeholder_price_below_dh') }} then 'placeholder_price'
            when price_dh < {{ price_bound('min', 'brand_segment') }}
                or price_dh > {{ price_bound('max', 'brand_segment') }} then 'price_out_of_bounds'
            when model_year is null then 'unparseable_year'
            when model_year < {{ var('min_model_year') }}
                or model_year > extract(year from coalesce(scrape_date, current_date)) + 1 then 'year_out_of_range'
            when mileage_lower_km > {{ var('max_mileage_km') }} then 'mileage_out_of_range'
            when mileage_text is not null and mileage_lower_km is null then 'unparseable_mileage'
            when brand_raw is null or regexp_matches(brand_raw, '^[0-9]+$') then 'unparseable_brand'
        end as rejection_reason,
        -- when this row was (re)built: int_listing_states rebuilds only the listings whose rows changed
        current_timestamp as normalized_at
    from placed
)

select * from classified
