-- New vehicles listed per day, week and month, by source, region and fuel (seasonality).
with vehicles as (
    select
        source,
        coalesce(region, 'Unknown') as region,
        coalesce(fuel, 'Unknown') as fuel,
        coalesce(posted_date, scrape_date, cast(first_seen_at as date)) as listed_date,
        price_dh
    from {{ ref('fct_listings') }}
),

{% set grains = ['day', 'week', 'month'] %}
{% for grain in grains %}
by_{{ grain }} as (
    select
        '{{ grain }}' as grain,
        cast(date_trunc('{{ grain }}', listed_date) as date) as period_start,
        source,
        region,
        fuel,
        count(*) as vehicles,
        quantile_cont(price_dh, 0.5) as median_price_dh
    from vehicles
    where listed_date is not null
    group by all
),
{% endfor %}

final as (
    {% for grain in grains %}
    select * from by_{{ grain }}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
)

select * from final
