{#- The Dagster partition window: the scrape days between the min_date and max_date vars (everything by default).
    It is rendered when a node runs, never when the project is parsed, so one parse serves every window: the
    pipeline parses once per run process and then builds whichever days its partitions name. -#}
{% macro partition_window_filter(column='scrape_date') -%}
    {{ column }} between cast('{{ var("min_date") }}' as date) and cast('{{ var("max_date") }}' as date)
{%- endmacro %}

{#- dbt's `where` test config is fixed when the project is parsed. A test whose config carries
    `meta: {partition_window: <column>}` instead reads only the rows of the window being built, chosen at run time. -#}
{% macro default__get_where_subquery(relation) -%}
    {%- set column = (config.get('meta') or {}).get('partition_window') -%}
    {%- set where = config.get('where', '') -%}
    {%- if column -%}
        {%- set window -%}{{ partition_window_filter(column) }}{%- endset -%}
        {%- set where = '(' ~ where ~ ') and ' ~ window if where else window -%}
    {%- endif -%}
    {%- if where -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ where ~ ') dbt_subquery') -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}
