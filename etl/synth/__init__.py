"""A seeded synthetic cohort that resembles the two source studies, with a known truth.

`cohort` draws patients, lab collections, DXA scans and fractures block by block (numpy, one
random stream per block, so any size runs in bounded memory and the same seed gives the same
bytes); `flat` writes the contract's CSV/TSV/Parquet exports and a `manifest.json` stating what a
correct ingest and correct marts must show. Other writers (HL7 v2, FHIR) consume the same
canonical blocks from `cohort.iter_blocks`.
"""
