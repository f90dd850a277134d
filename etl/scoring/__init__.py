"""Risk scoring: models designed, evaluated, saved, applied and re-validated on the marts.

Entry points for the CLI and pipeline are in `runner`: `score`, `export_model`, `import_model`,
`model_cards`.
"""
