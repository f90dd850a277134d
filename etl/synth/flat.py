"""Write a synthetic cohort as the contract's flat exports (CSV, one TSV, one Parquet) + manifest.

Blocks are written as they are drawn, so memory stays at one block whatever the cohort size.
A CSV line is built for a whole block at once (pyarrow string kernels) and the block's bytes
are written straight from the Arrow buffer: quoting only where a field holds the delimiter or a
quote (decimal commas, printed names), empty fields for absent values, LF line ends.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..errors import UsageError
from . import text
from .cohort import BLOCK_SIZE, DEFAULT_SEED, HEADERS, iter_blocks
from .manifest import MANIFEST_NAME, TRUTH_FILE, FileEntry, Manifest, Tally, add_file_rows, attach_truth

FORMATS = ("csv", "tsv", "parquet")
OVERLAP_NAME = "labs_overlap.csv"
OVERLAP_SHARE = 0.02   # of plain lab results delivered again in the overlapping second export


def _quoted(column: pa.Array, delimiter: str) -> pa.Array:
    column = pc.fill_null(column, "")
    needs = pc.or_(pc.match_substring(column, delimiter), pc.match_substring(column, '"'))
    if not pc.any(needs).as_py():
        return column
    return pc.if_else(needs, text.concat('"', pc.replace_substring(column, '"', '""'), '"'), column)


def _write_buffer(handle, lines: pa.Array) -> None:
    """The bytes of a string array whose every element is a whole line, in one write."""
    for chunk in (lines.chunks if isinstance(lines, pa.ChunkedArray) else [lines]):
        if len(chunk) == 0:
            continue
        if chunk.type != pa.string():
            chunk = chunk.cast(pa.string())
        offsets = np.frombuffer(chunk.buffers()[1], dtype=np.int32, count=len(chunk) + 1, offset=chunk.offset * 4)
        handle.write(memoryview(chunk.buffers()[2])[offsets[0]:offsets[-1]])


class DelimitedWriter:
    def __init__(self, path: Path, columns: list[str], delimiter: str) -> None:
        self.columns, self.delimiter = columns, delimiter
        self.handle = path.open("wb")
        self.handle.write((delimiter.join(columns) + "\n").encode())

    def write(self, table: pa.Table) -> None:
        if table.num_rows == 0:
            return
        fields = [_quoted(table[c].combine_chunks(), self.delimiter) for c in self.columns]
        lines = pc.binary_join_element_wise(*fields, self.delimiter)
        _write_buffer(self.handle, text.concat(lines, "\n"))

    def close(self) -> None:
        self.handle.close()


class ParquetFileWriter:
    def __init__(self, path: Path, columns: list[str]) -> None:
        self.columns = columns
        self.writer = pq.ParquetWriter(path, pa.schema([(c, pa.string()) for c in columns]))

    def write(self, table: pa.Table) -> None:
        if table.num_rows:
            self.writer.write_table(table.select(self.columns))

    def close(self) -> None:
        self.writer.close()


def _open(path: Path, kind: str, fmt: str):
    columns = HEADERS[kind]
    if fmt == "parquet":
        return ParquetFileWriter(path, columns)
    return DelimitedWriter(path, columns, "\t" if fmt == "tsv" else ",")


def plan_files(lab_files: int, formats: tuple[str, ...], overlap: bool) -> list[FileEntry]:
    """The files to write, in name order: one TSV (dxa) and one Parquet (the last lab part) when
    those formats are asked for, CSV for the rest."""
    labs = ["labs"] if lab_files == 1 else [f"labs_{i + 1}" for i in range(lab_files)]
    entries = [FileEntry(f"dxa.{'tsv' if 'tsv' in formats else 'csv'}", "dxa", "tsv" if "tsv" in formats else "csv"),
               FileEntry("fractures.csv", "fractures", "csv")]
    for i, name in enumerate(labs):
        fmt = "parquet" if ("parquet" in formats and i == len(labs) - 1) else "csv"
        entries.append(FileEntry(f"{name}.{fmt}", "labs", fmt))
    if overlap:
        entries.append(FileEntry(OVERLAP_NAME, "labs", "csv"))
    entries.append(FileEntry("patients.csv", "patients", "csv"))
    return sorted(entries, key=lambda e: e.path)


def _remove_previous_outputs(out_dir: Path) -> None:
    """Files an earlier run wrote here (named by its manifest), so a folder ingest sees only ours."""
    old = out_dir / MANIFEST_NAME
    if not old.exists():
        return
    try:
        previous = Manifest.load(old)
    except (ValueError, TypeError, KeyError):
        return
    for path in previous.input_paths + [out_dir / TRUTH_FILE, old]:
        if path.is_file() and path.parent == out_dir:
            path.unlink()


def write_flat(out_dir: Path, n_patients: int, seed: int = DEFAULT_SEED, messy: bool = True, lab_files: int = 1,
               formats: tuple[str, ...] = ("csv",), overlap: bool | None = None,
               block_size: int = BLOCK_SIZE) -> Manifest:
    """Write patients, labs (in `lab_files` parts), dxa and fractures exports and `manifest.json`.

    `overlap` (default: when messy) adds `labs_overlap.csv`, a slice of the lab results exported
    again, which a correct ingest counts entirely as duplicates.
    """
    formats = tuple(formats)
    unknown = set(formats) - set(FORMATS)
    if unknown or "csv" not in formats:
        raise UsageError(f"The formats must include 'csv' and be among {', '.join(FORMATS)}, not {', '.join(formats)}.")
    if lab_files < 1:
        raise UsageError(f"The lab results need at least one file, not {lab_files}.")
    overlap = messy if overlap is None else overlap
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    _remove_previous_outputs(out_dir)

    entries = plan_files(lab_files, formats, overlap)
    lab_entries = [e for e in entries if e.kind == "labs" and e.path != OVERLAP_NAME]
    by_kind = {e.kind: e for e in entries if e.kind != "labs"}
    overlap_entry = next((e for e in entries if e.path == OVERLAP_NAME), None)
    writers = {e.path: _open(out_dir / e.path, e.kind, e.format) for e in entries}
    tally = Tally()
    try:
        for block in iter_blocks(n_patients, seed, messy, block_size):
            tally.add_block(block.patients, block.labs, block.dxa, block.fractures, block.truth)
            for kind in ("patients", "dxa", "fractures"):
                table = getattr(block, kind)
                writers[by_kind[kind].path].write(table)
                add_file_rows(by_kind[kind], table)
            part = block.labs["_patient"].to_numpy() * lab_files // n_patients
            for i, entry in enumerate(lab_entries):
                rows = block.labs.filter(pa.array(part == i)) if lab_files > 1 else block.labs
                writers[entry.path].write(rows)
                add_file_rows(entry, rows)
            if overlap_entry is not None:
                pick = np.random.default_rng([seed, block.index, 2]).random(block.labs.num_rows) < OVERLAP_SHARE
                plain = pc.equal(block.labs["_role"], "result").to_numpy(zero_copy_only=False)
                again = block.labs.filter(pa.array(pick & plain))
                writers[overlap_entry.path].write(again)
                add_file_rows(overlap_entry, again, all_duplicates=True)
    finally:
        for writer in writers.values():
            writer.close()

    expected = tally.expected()
    expected["rows_duplicate_overlap"] = overlap_entry.rows_written if overlap_entry else 0
    truth, inline = attach_truth(tally.truth_summary(), tally.truth_table(), out_dir)
    manifest = Manifest(
        seed=seed, n_patients=n_patients, messy=messy, lab_files=lab_files, formats=list(formats), overlap=overlap,
        block_size=block_size, files=entries, expected=expected, messiness=tally.messiness(), truth=truth,
        truth_assessments_inline=inline,
    )
    manifest.save(out_dir / MANIFEST_NAME)
    return manifest
