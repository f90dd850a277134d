-- The reader's lab rows less its DXA rows (hl7_dxa.sql), which load as `dxa` instead.
-- parameters:
--   labs        the reader's lab rows
--   dxa_loinc   the row's LOINC code, as an expression over `labs`
--   dxa_site    CASE over dxa_loinc: the site of a DXA code, NULL for any other code
SELECT * EXCLUDE (dxa_loinc)
FROM (SELECT *, {{ dxa_loinc }} AS dxa_loinc FROM {{ labs }})
WHERE {{ dxa_site }} IS NULL
