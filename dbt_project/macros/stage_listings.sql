{#- The columns both sites share once renamed and cast; each staging model adds its own parsing. -#}
{% macro staged_listing_columns() -%}
        ---------- ids
        source || ':' || listing_id as listing_key,
        source,
        listing_id,
        url,
        ---------- vehicle
        title,
        nullif(trim(brand), '') as brand_raw,
        nullif(trim(model), '') as model_raw,
        cast(year as integer) as model_year,
        cast(mileage_km as integer) as mileage_km,
        fuel,
        gearbox,
        cast(fiscal_power as integer) as fiscal_power,
        cast(doors as integer) as doors,
        origin,
        condition,
        first_owner,
        ---------- price
        price_text,
        cast(price_dh as bigint) as price_dh,
        ---------- location
        nullif(trim(city), '') as city_raw,
        sector,
        ---------- seller
        seller_type,
        seller_name_hash,
        seller_phone_hash,
        ---------- timestamps
        cast(posted_at as timestamp) as posted_at,
        cast(posted_at as date) as posted_date,
        scrape_date,
        scraped_at
{%- endmacro %}
