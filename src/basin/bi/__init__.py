"""BI serving: Apache Superset over the published marts, with dashboards kept as code
(``dashboards/`` in the project) and datasets that follow the dbt models."""
