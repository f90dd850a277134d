"""The synthetic cohort as a hospital network would send it: a third of the patients from each
kind of source, so one `osteoreg ingest` of the folder exercises every reader.

- `flat/`: a warehouse export as files of all three flat formats (patients and labs CSV, DXA
  TSV, fractures Parquet);
- `hl7/`: a lab feed of HL7 v2 ORU^R01 messages, with CSV exports of what HL7 does not carry;
  the feed sorts before `hl7/patients.csv`, so that export is the later, fuller delivery of each
  patient's demographics (PID has no menopausal status);
- `fhir/`: a Bulk-FHIR NDJSON export.
"""
from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from . import fhir, hl7v2
from .cohort import DEFAULT_SEED, HEADERS, generate

KINDS = ("patients", "labs", "dxa", "fractures")


class Part:
    """The rows of every `groups`-th patient of a cohort, shaped as the writers take them."""

    def __init__(self, facts, group: int, groups: int):
        for kind in KINDS:
            table = getattr(facts, kind)
            owner = table["_patient"].to_numpy(zero_copy_only=False)
            setattr(self, kind, table.filter(pa.array(owner % groups == group)))

    def canonical(self, kind: str) -> pa.Table:
        return getattr(self, kind).select(HEADERS[kind])


def _write(table: pa.Table, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".parquet":
        pq.write_table(table, path)
    else:
        pacsv.write_csv(table, path, pacsv.WriteOptions(delimiter="\t" if path.suffix == ".tsv" else ","))
    return path


def write_mixed(out_dir: Path, n_patients: int, seed: int = DEFAULT_SEED, messy: bool = True) -> list[Path]:
    """Write the three sources under `out_dir`; returns the files in the order they load."""
    out_dir = Path(out_dir)
    facts = generate(n_patients, seed=seed, messy=messy)
    flat, feed, bulk = (Part(facts, group, 3) for group in range(3))
    files = [
        _write(flat.canonical("patients"), out_dir / "flat" / "patients.csv"),
        _write(flat.canonical("labs"), out_dir / "flat" / "labs.csv"),
        _write(flat.canonical("dxa"), out_dir / "flat" / "dxa.tsv"),
        _write(flat.canonical("fractures"), out_dir / "flat" / "fractures.parquet"),
    ]
    files += hl7v2.write(feed, out_dir / "hl7" / "feed")
    files += [_write(feed.canonical(kind), out_dir / "hl7" / f"{kind}.csv") for kind in ("patients", "dxa", "fractures")]
    files += fhir.write_ndjson(bulk, out_dir / "fhir")
    return files
