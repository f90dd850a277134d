"""Running the dbt project on a cluster engine (contract section 8): the raw layer exported where
Spark and PostgreSQL read it, and their marts brought back into the DuckDB warehouse so the
snapshot, `osteoreg sql` and `osteoreg report` work the same whatever built them."""
