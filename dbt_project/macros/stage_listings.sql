{#- The columns every staging model shares once renamed, cast and parsed from the display texts.
    Parsed values come from the texts when a text is there, else from the value the scraper parsed. -#}
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
        {{ clean_fuel('fuel') }} as fuel,
        {{ clean_gearbox('gearbox') }} as gearbox,
        cast(nullif(fiscal_power, 0) as integer) as fiscal_power,
        cast(doors as integer) as doors,
        {{ clean_origin('origin') }} as origin,
        {{ clean_condition('condition') }} as condition,
        first_owner,
        cast(old_price_dh as bigint) as old_price_dh,
        cast(monthly_payment_dh as bigint) as monthly_payment_dh,
        category,
        ---------- mileage
        mileage_text,
        coalesce({{ mileage_lower_km('mileage_text') }}, mileage_km) as mileage_lower_km,
        coalesce({{ mileage_upper_km('mileage_text') }}, mileage_km) as mileage_upper_km,
        ---------- price
        price_text,
        coalesce({{ parse_price_dh('price_text') }}, price_dh) as price_dh,
        {{ is_price_placeholder('price_text') }} and coalesce({{ parse_price_dh('price_text') }}, price_dh) is null as price_on_request,
        ---------- location
        nullif(trim(city), '') as city_raw,
        nullif(trim(sector), '') as sector_raw,
        ---------- seller
        {{ clean_seller_type('seller_type') }} as seller_type,
        seller_name_hash,
        seller_phone_hash,
        ---------- timestamps
        cast(posted_at as timestamp) as posted_at,
        cast(posted_at as date) as posted_date,
        scrape_date,
        scraped_at
{%- endmacro %}

{#- Mileage from its bounds: an exact value as is, a bucket at its midpoint, flagged as estimated. -#}
{% macro mileage_columns() -%}
        case
            when mileage_lower_km = mileage_upper_km then mileage_lower_km
            else cast(round((mileage_lower_km + mileage_upper_km + 1) / 2.0) as bigint)
        end as mileage_km,
        coalesce(mileage_lower_km <> mileage_upper_km, false) as mileage_is_estimated
{%- endmacro %}
