-- Value against age and mileage, per model and per fuel: the median asking price in each (age, mileage band) cell,
-- as a share of the youngest cell's median, with the vehicle count so thin cells can be filtered out.
with vehicles as (
    select
        *,
        greatest(extract(year from coalesce(posted_date, scrape_date, current_date)) - model_year, 0) as age_years,
        cast(floor(mileage_km / 25000) * 25000 as bigint) as mileage_band_km
    from {{ ref('fct_listings') }}
    where price_dh is not null and model_year is not null
),

by_model as (
    select
        'model' as curve_kind,
        brand || ' ' || model as curve,
        brand,
        model,
        cast(null as varchar) as fuel,
        age_years,
        mileage_band_km,
        count(*) as vehicles,
        quantile_cont(price_dh, 0.5) as median_price_dh
    from vehicles
    where model is not null
    group by all
),

by_fuel as (
    select
        'fuel' as curve_kind,
        fuel as curve,
        cast(null as varchar) as brand,
        cast(null as varchar) as model,
        fuel,
        age_years,
        mileage_band_km,
        count(*) as vehicles,
        quantile_cont(price_dh, 0.5) as median_price_dh
    from vehicles
    where fuel is not null
    group by all
),

cells as (
    select * from by_model
    union all
    select * from by_fuel
),

final as (
    select
        cells.*,
        round(median_price_dh / first_value(median_price_dh) over (
            partition by curve_kind, curve order by age_years, mileage_band_km
        ), 4) as value_retention,
        vehicles >= {{ var('min_curve_cell_vehicles') }} as is_meaningful
    from cells
)

select * from final
