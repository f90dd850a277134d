"""How a source writes its numbers: the readers name it per batch, `validate.number` applies it."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Numbers:
    """How a source writes numbers (contract section 2).

    `decimal`/`thousands`: the separators a source profile names; then `1.234,5` is read exactly
    as the profile says. Without them a comma is a decimal comma only where that is unambiguous
    (`0,82`, `12,5`): a comma followed by exactly three digits (`1,250`) or a value with both a
    comma and a point is `ambiguous_number`, because `1,250 pg/mL` read as 1.25 is a plausible
    result 1,000 times too small. `commas=False` (HL7 NM/SN, FHIR numbers): no comma at all.
    """

    commas: bool = True
    decimal: str | None = None
    thousands: str | None = None


FLAT_NUMBERS = Numbers()
STRICT_NUMBERS = Numbers(commas=False)
