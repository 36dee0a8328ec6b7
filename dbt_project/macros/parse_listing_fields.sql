{#- Parsing of the display texts both sites show, shared by every staging model.
    Each macro dispatches so that a DuckDB-specific regex stays behind one name. -#}

{#- A price in DH from any text form: "173 000 DH" (U+202F separators), "50000 DH", "118,000 DH",
    "134 000 Dhs", "1220000", "1220000.0", "UpwardArrow IconPrix en hausse520 000 DH" (a badge glued
    to the value). Null for placeholders ("Demander le prix", "Appeler pour le prix", "Prix non
    spécifié", "N/A") and for monthly instalments ("2 500 DH / mois"), which are not the price. -#}
{% macro parse_price_dh(expr) -%}
    {{ return(adapter.dispatch('parse_price_dh', 'autolist')(expr)) }}
{%- endmacro %}

{% macro duckdb__parse_price_dh(expr) -%}
    case
        when {{ expr }} is null then null
        when regexp_matches(lower({{ expr }}), '(/\s*mois|par\s+mois)') then null
        -- a negative amount is garbage: dropping the sign would make it a price
        when regexp_matches({{ expr }}, '^\s*[-\x{2212}]') then null
        else try_cast(nullif(regexp_replace(
            regexp_replace({{ expr }}, '[.,]0{1,2}\s*(dh|dhs|mad)?\s*$', '', 'i'),
            '[^0-9]', '', 'g'), '') as bigint)
    end
{%- endmacro %}

{#- True when the price text says "no price" rather than being garbled. -#}
{% macro is_price_placeholder(expr) -%}
    {{ return(adapter.dispatch('is_price_placeholder', 'autolist')(expr)) }}
{%- endmacro %}

{% macro duckdb__is_price_placeholder(expr) -%}
    ({{ expr }} is null
     or regexp_matches(lower(trim({{ expr }})), '(prix|price|^n/?[ad]$|^-+$|^$|sur demande|a discuter)'))
{%- endmacro %}

{#- Mileage text: an exact "99 000" / "102000", or a bucket "200 000 - 249 999" / "0 - 4 999".
    Lower and upper bounds in km; equal for an exact value. -#}
{% macro mileage_lower_km(expr) -%}
    {{ return(adapter.dispatch('mileage_lower_km', 'autolist')(expr)) }}
{%- endmacro %}

{% macro duckdb__mileage_lower_km(expr) -%}
    try_cast(nullif(split_part(regexp_replace({{ expr }}, '[^0-9-]', '', 'g'), '-', 1), '') as bigint)
{%- endmacro %}

{% macro mileage_upper_km(expr) -%}
    {{ return(adapter.dispatch('mileage_upper_km', 'autolist')(expr)) }}
{%- endmacro %}

{% macro duckdb__mileage_upper_km(expr) -%}
    try_cast(nullif(
        case
            when strpos(regexp_replace({{ expr }}, '[^0-9-]', '', 'g'), '-') > 0
                then split_part(regexp_replace({{ expr }}, '[^0-9-]', '', 'g'), '-', 2)
            else regexp_replace({{ expr }}, '[^0-9]', '', 'g')
        end, '') as bigint)
{%- endmacro %}

{#- Enumerations, mapped onto the sites' own French labels whatever the case, accents or aliases.
    Unknown or placeholder values ("N/A", "n/d", "--") become null. -#}
{% macro clean_fuel(expr) -%}
    case {{ normalize_key(expr) }}
        when 'diesel' then 'Diesel'
        when 'gasoil' then 'Diesel'
        when 'essence' then 'Essence'
        when 'petrol' then 'Essence'
        when 'hybride' then 'Hybride'
        when 'hybrid' then 'Hybride'
        when 'hybride rechargeable' then 'Hybride'
        when 'electrique' then 'Electrique'
        when 'electric' then 'Electrique'
        when 'lpg' then 'LPG'
        when 'gpl' then 'LPG'
    end
{%- endmacro %}

{% macro clean_gearbox(expr) -%}
    case {{ normalize_key(expr) }}
        when 'automatique' then 'Automatique'
        when 'auto' then 'Automatique'
        when 'automatic' then 'Automatique'
        when 'manuelle' then 'Manuelle'
        when 'manuel' then 'Manuelle'
        when 'manual' then 'Manuelle'
    end
{%- endmacro %}

{% macro clean_origin(expr) -%}
    case {{ normalize_key(expr) }}
        when 'ww au maroc' then 'WW au Maroc'
        when 'dedouanee' then 'Dédouanée'
        when 'importee neuve' then 'Importée neuve'
        when 'pas encore dedouanee' then 'Pas encore dédouanée'
    end
{%- endmacro %}

{% macro clean_condition(expr) -%}
    case {{ normalize_key(expr) }}
        when 'neuf' then 'Neuf'
        when 'excellent' then 'Excellent'
        when 'tres bon' then 'Très bon'
        when 'bon' then 'Bon'
        when 'correct' then 'Correct'
        when 'endommage' then 'Endommagé'
        when 'pour pieces' then 'Pour Pièces'
    end
{%- endmacro %}

{% macro clean_seller_type(expr) -%}
    case {{ normalize_key(expr) }}
        when 'shop' then 'shop'
        when 'store' then 'shop'
        when 'professionnel' then 'shop'
        when 'pro' then 'shop'
        when 'private' then 'private'
        when 'particulier' then 'private'
    end
{%- endmacro %}

{#- Not a car for sale: rentals, parts, motorbikes and other vehicles that the `voitures` search returns. -#}
{% macro is_not_a_car_for_sale(category) -%}
    {{ return(adapter.dispatch('is_not_a_car_for_sale', 'autolist')(category)) }}
{%- endmacro %}

{% macro duckdb__is_not_a_car_for_sale(category) -%}
    coalesce(regexp_matches({{ normalize_key(category) }},
        '(location|louer|a louer|pieces|accessoires|moto|scooter|quad|camion|engins|bateau)'), false)
{%- endmacro %}

{#- The first path segment of an Avito ad URL: the seller's sector or city slug ("a%C3%AFn_chock"). -#}
{% macro avito_url_slug(url) -%}
    {{ return(adapter.dispatch('avito_url_slug', 'autolist')(url)) }}
{%- endmacro %}

{% macro duckdb__avito_url_slug(url) -%}
    nullif(url_decode(regexp_extract({{ url }}, 'avito\.ma/[a-z]{2}/([^/]+)/', 1)), '')
{%- endmacro %}

{#- The plausible price bound ('min' or 'max') of a brand segment, from the price_bounds_dh var. -#}
{% macro price_bound(which, segment_column) -%}
    case {{ segment_column }}
    {%- for segment, bounds in var('price_bounds_dh').items() %}
        when '{{ segment }}' then {{ bounds[which] }}
    {%- endfor %}
        else {{ var('price_bounds_dh')['mainstream'][which] }}
    end
{%- endmacro %}
