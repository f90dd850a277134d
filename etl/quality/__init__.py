"""Quality gates: Great Expectations suites from `expectations/`, validated inside DuckDB.

Importing this package is cheap on purpose: Great Expectations costs seconds to import, so only
`runner.run_checks` (and what it calls) imports it, never the CLI at start-up.
"""
