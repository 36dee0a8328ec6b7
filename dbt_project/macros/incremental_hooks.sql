{#- int_listing_states, listing_price_history and fct_listings are incremental: each model body rebuilds the listings
    (or vehicles) whose rows changed, and the post-hooks here bring every other row up to date: rows left without a
    source go, and still_active, which moves with each site's latest scrape, is set where it changed. -#}

{#- Each site's latest scrape time, from the trusted rows. -#}
{% macro latest_scrapes() -%}
    select source, max(scraped_at) as latest_scraped_at
    from {{ ref('int_listings_accepted') }}
    where ingestion = 'scrape'
    group by source
{%- endmacro %}

{#- A listing is still online when its site's latest scrape saw it. -#}
{% macro listing_still_active(state, latest_scraped_at) -%}
    coalesce(
        {{ state }}.ingestion = 'scrape' and {{ state }}.scraped_at >= {{ latest_scraped_at }} - interval 1 day,
        false
    )
{%- endmacro %}

{#- The listings a run did not rebuild: drop those without trusted rows any more (a re-parse rejected or removed
    them), and move still_active, which depends on the site's latest scrape, where it changed. -#}
{% macro drop_vanished_listing_states() -%}
    delete from {{ this }}
    where listing_key not in (select listing_key from {{ ref('int_listings_accepted') }})
{%- endmacro %}

{% macro refresh_still_active() -%}
    update {{ this }} as states
    set still_active = not states.still_active
    from ({{ latest_scrapes() }}) as latest_scrapes
    where latest_scrapes.source = states.source
        and states.still_active <> {{ listing_still_active('states', 'latest_scrapes.latest_scraped_at') }}
{%- endmacro %}

{#- listing_price_history: the history of listings that are gone from int_listing_states. -#}
{% macro drop_vanished_price_history() -%}
    delete from {{ this }}
    where listing_key not in (select listing_key from {{ ref('int_listing_states') }})
{%- endmacro %}

{#- fct_listings: vehicles no longer in int_listing_vehicles (their listings went, or joined another vehicle). -#}
{% macro drop_vanished_vehicles() -%}
    delete from {{ this }}
    where vehicle_id not in (select vehicle_id from {{ ref('int_listing_vehicles') }})
{%- endmacro %}

{#- fct_listings: a vehicle is still online when any of its listings is. -#}
{% macro refresh_vehicle_still_active() -%}
    update {{ this }} as built
    set still_active = not built.still_active
    from (
        select vehicles.vehicle_id, bool_or(states.still_active) as still_active
        from {{ ref('int_listing_vehicles') }} as vehicles
        inner join {{ ref('int_listing_states') }} as states using (listing_key)
        group by vehicles.vehicle_id
    ) as fresh
    where fresh.vehicle_id = built.vehicle_id and fresh.still_active <> built.still_active
{%- endmacro %}
