-- Per scrape partition (day × site): what the scraper fetched, how fresh it is, and how much of it the
-- warehouse trusted or quarantined.
with reports as (
    select * from {{ source('raw', 'scrape_reports') }}
),

normalized as (
    select
        scrape_date,
        source,
        count(*) as staged_rows,
        count(*) filter (where rejection_reason is null) as accepted_rows,
        count(*) filter (where rejection_reason is not null) as rejected_rows
    from {{ ref('int_listings_normalized') }}
    where ingestion = 'scrape'
    group by scrape_date, source
),

final as (
    select
        reports.scrape_date || '|' || reports.source as partition_key,
        reports.scrape_date,
        reports.source,
        reports.mode,
        reports.pages,
        reports.listings,
        reports.parse_failures,
        reports.http_status_counts,
        reports.duration_s,
        reports.listings_per_s,
        reports.scraped_at,
        round(date_diff('minute', reports.scraped_at, now()) / 60.0, 2) as hours_since_scrape,
        coalesce(normalized.accepted_rows, 0) as accepted_rows,
        coalesce(normalized.rejected_rows, 0) as rejected_rows,
        round(coalesce(normalized.rejected_rows, 0) / nullif(coalesce(normalized.staged_rows, 0), 0), 4) as rejection_rate,
        round(reports.parse_failures / nullif(reports.listings + reports.parse_failures, 0), 4) as parse_failure_rate
    from reports
    left join normalized using (scrape_date, source)
)

select * from final
