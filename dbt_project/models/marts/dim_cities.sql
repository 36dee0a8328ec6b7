-- One row per canonical city with its province and region (from the cities seed), and how many vehicles it lists.
with cities as (
    select distinct city, province, region from {{ ref('cities') }}
),

vehicles as (
    select city, count(*) as vehicles from {{ ref('fct_listings') }} group by city
),

final as (
    select
        cities.city,
        cities.province,
        cities.region,
        coalesce(vehicles.vehicles, 0) as vehicles
    from cities
    left join vehicles using (city)
)

select * from final
