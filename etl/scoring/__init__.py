"""Risk scoring: models designed, evaluated, saved, applied and re-validated on the marts.

Entry points for the CLI and pipeline are in `runner`: `score`, `export_model`, `import_model`,
`model_cards`. The models are listed in `registry`; each is applied by one SQL statement
(`sql`) over the pre-scan inputs (`sql/*.sql`), fitted in numpy (`linear`) on a bounded sample.
"""
