{#- A join key that ignores case, accents, hyphens and repeated spaces: "MERCEDES-BENZ",
    "Mercedes-Benz" and "mercedes  benz" all become "mercedes benz". -#}
{% macro normalize_key(expr) -%}
    {{ return(adapter.dispatch('normalize_key', 'autolist')(expr)) }}
{%- endmacro %}

{% macro default__normalize_key(expr) -%}
    lower(trim(regexp_replace(translate({{ expr }}, '-_', '  '), '\s+', ' ', 'g')))
{%- endmacro %}

{% macro duckdb__normalize_key(expr) -%}
    lower(trim(regexp_replace(strip_accents(replace(replace({{ expr }}, '-', ' '), '_', ' ')), '\s+', ' ', 'g')))
{%- endmacro %}
