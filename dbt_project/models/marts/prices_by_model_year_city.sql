-- Asking prices per brand, model, year and city, e.g. a Dacia Sandero 2019 in Casablanca.
with priced as (
    select * from {{ ref('fct_listings') }}
    where price_dh is not null
),

aggregated as (
    select
        brand,
        model,
        model_year,
        city,
        count(*) as listings,
        round(avg(price_dh)) as avg_price_dh,
        quantile_cont(price_dh, 0.5) as median_price_dh,
        min(price_dh) as min_price_dh,
        max(price_dh) as max_price_dh
    from priced
    group by brand, model, model_year, city
)

select * from aggregated
