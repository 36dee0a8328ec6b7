-- One row per canonical brand and model, with its segment and the market it has.
with vehicles as (
    select * from {{ ref('fct_listings') }}
),

final as (
    select
        brand || ' ' || model as model_key,
        brand,
        model,
        any_value(brand_segment) as brand_segment,
        count(*) as vehicles,
        min(model_year) as first_model_year,
        max(model_year) as last_model_year,
        quantile_cont(price_dh, 0.5) as median_price_dh
    from vehicles
    where model is not null
    group by brand, model
)

select * from final
