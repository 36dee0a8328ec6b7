{{ config(severity='error', tags=['critical'], meta={'dagster': {'ref': {'name': 'listings_rejected'}}}) }}
-- Attached to listings_rejected in Dagster (meta.dagster.ref), so it runs as a blocking asset check there.
-- Accounting equality: per partition (scrape day × site, or imported file), every raw row is either staged as
-- trusted (int_listings_accepted) or quarantined (listings_rejected), never both, never lost. Returns the
-- partitions where raw rows <> accepted rows + rejected rows.
with raw_rows as (
    select 'scrape' as ingestion, source, cast(scrape_date as varchar) as partition_id, count(*) as raw_rows
    from {{ source('raw', 'listings') }}
    group by all
    union all
    select 'import', source, import_file, count(*)
    from {{ source('raw', 'imported_listings') }}
    group by all
),

accepted as (
    select ingestion, source, coalesce(import_file, cast(scrape_date as varchar)) as partition_id, count(*) as accepted_rows
    from {{ ref('int_listings_accepted') }}
    group by all
),

rejected as (
    select ingestion, source, coalesce(import_file, cast(scrape_date as varchar)) as partition_id, count(*) as rejected_rows
    from {{ ref('listings_rejected') }}
    group by all
),

compared as (
    select
        coalesce(raw_rows.ingestion, accepted.ingestion, rejected.ingestion) as ingestion,
        coalesce(raw_rows.source, accepted.source, rejected.source) as source,
        coalesce(raw_rows.partition_id, accepted.partition_id, rejected.partition_id) as partition_id,
        coalesce(raw_rows.raw_rows, 0) as raw_rows,
        coalesce(accepted.accepted_rows, 0) as accepted_rows,
        coalesce(rejected.rejected_rows, 0) as rejected_rows
    from raw_rows
    full outer join accepted using (ingestion, source, partition_id)
    full outer join rejected using (ingestion, source, partition_id)
)

select * from compared
where raw_rows <> accepted_rows + rejected_rows
