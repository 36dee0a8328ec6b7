{#- Custom schemas are used as-is (staging, intermediate, reference) rather than prefixed with
    the target schema, so that the warehouse reads raw.*, staging.*, main.* for marts. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}
