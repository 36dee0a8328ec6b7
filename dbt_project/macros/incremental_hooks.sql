{#- int_listing_states is incremental: its model body rebuilds the listings whose rows changed, and these macros keep
    the rules it shares with the post-hook that brings every other listing up to date in one place. -#}

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
