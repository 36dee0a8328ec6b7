-- One row per listing (identity kept across days by "<source>:<listing_id>"): its latest observed state plus
-- first seen, last seen, days on market and whether it is still online. Its price history is listing_price_history,
-- which builds beside this model rather than before it.
with accepted as (
    select * from {{ ref('int_listings_accepted') }}
),

seen as (
    select
        listing_key,
        min(coalesce(cast(posted_at as timestamptz), observed_at)) as first_seen_at,
        max(observed_at) as last_seen_at,
        count(*) as observations
    from accepted
    group by listing_key
),

-- Most listings are seen once, and their one row is their latest: only the others are ordered, since a window
-- over whole rows cost a third of this model.
latest as (
    select *
    from accepted
    where listing_key in (select listing_key from seen where observations = 1)
    union all
    (
        select *
        from accepted
        where listing_key in (select listing_key from seen where observations > 1)
        qualify row_number() over (
            partition by listing_key order by observed_at desc, scrape_date desc nulls last, import_row
        ) = 1
    )
),

-- A listing is still online when its site's latest scrape saw it.
latest_scrapes as (
    select source, max(scraped_at) as latest_scraped_at
    from accepted
    where ingestion = 'scrape'
    group by source
),

final as (
    select
        latest.*,
        seen.first_seen_at,
        seen.last_seen_at,
        seen.observations,
        cast(seen.first_seen_at as date) as first_seen_date,
        cast(seen.last_seen_at as date) as last_seen_date,
        date_diff('day', cast(seen.first_seen_at as date), cast(seen.last_seen_at as date)) as days_on_market,
        coalesce(
            latest.ingestion = 'scrape' and latest.scraped_at >= latest_scrapes.latest_scraped_at - interval 1 day,
            false
        ) as still_active
    from latest
    inner join seen using (listing_key)
    left join latest_scrapes using (source)
)

select * from final
