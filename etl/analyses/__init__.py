"""The two studies' analyses (Shi et al. 2026, Ali et al. 2025) reproduced on the registry, and
the yearly magnesium-deficiency prevalence standardised by age and sex.

Each analysis is a pure function over a small DataFrame (one row per patient, or per cell), so it
is tested against an independent computation; `population` reads those frames from the marts;
`snapshot` writes the aggregate results into the published snapshot. Nothing here prints, and
nothing here imports the report (the report imports this package).
"""
