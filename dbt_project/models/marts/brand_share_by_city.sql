-- Each brand's share of the vehicles listed in each city, ranked (e.g. the most listed brands in Marrakech).
with vehicles as (
    select * from {{ ref('fct_listings') }}
    where city is not null
),

counted as (
    select city, region, brand, count(*) as vehicles
    from vehicles
    group by city, region, brand
),

final as (
    select
        city,
        region,
        brand,
        vehicles,
        sum(vehicles) over (partition by city) as city_vehicles,
        round(vehicles / sum(vehicles) over (partition by city), 4) as share,
        rank() over (partition by city order by vehicles desc, brand) as brand_rank
    from counted
)

select * from final
