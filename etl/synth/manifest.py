"""What a correct ingest and a correct dbt build must show for a generated cohort.

The counts are taken from the generator's own role columns (`_role`, `_reason`) of the rows
actually written, so the manifest cannot drift from the files: per file rows written, loaded,
quarantined by reason and duplicate; per analyte the current final results after corrections
and deletions; the drawn truth (categories, coefficients, AUROC) per assessment.
"""
from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .messiness import CURRENT_FINAL_ROLES
from .truth import MG_DEFICIENT_BELOW, MG_OP_CUTOFF, MODEL, auroc

MANIFEST_NAME = "manifest.json"
# Per-assessment truth goes inline into the JSON up to this many assessments, else into a hidden
# Parquet file beside it (hidden files and manifest.json are passed over by `osteoreg ingest`).
INLINE_TRUTH_LIMIT = 50_000
TRUTH_FILE = ".truth_assessments.parquet"
TRUTH_COLUMNS = ["patient_id", "scan_date", "sex", "menopausal_status", "age_at_scan", "bmi", "mg_mmol_l",
                 "mg_days_from_scan", "beta_ctx_ng_ml", "phosphate_mmol_l", "p1np_ng_ml",
                 "treated_after_scan", "p_true", "outcome", "min_t_score", "min_t_score_site",
                 "min_z_score", "fragility_fracture_before", "who_category", "iscd_category"]


@dataclass
class FileEntry:
    path: str                 # relative to the output folder
    kind: str
    format: str
    rows_written: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    quarantine_by_reason: dict = field(default_factory=dict)
    rows_duplicate: int = 0


def _counts(table: pa.Table, column: str, mask=None) -> Counter:
    values = table[column] if mask is None else table[column].filter(mask)
    result = Counter()
    for item in pc.value_counts(values).to_pylist():
        result[item["values"] if item["values"] is not None else ""] += item["counts"]
    return result


def _pairs(table: pa.Table, first: str, second: str, mask) -> Counter:
    grouped = table.filter(mask).group_by([first, second]).aggregate([([], "count_all")]).to_pylist()
    return Counter({(g[first], g[second]): g["count_all"] for g in grouped})


class Tally:
    """Accumulates the expected counts block by block (and file by file)."""

    def __init__(self) -> None:
        self.roles = {kind: Counter() for kind in ("patients", "labs", "dxa", "fractures")}
        self.current_final = Counter()
        self.current_final_units = Counter()
        self.loaded_status = Counter()
        self.spellings = Counter()
        self.sex_spellings = Counter()
        self.comma = self.comparators = self.offsets = 0
        self.truth: list[pa.Table] = []

    def add_block(self, patients: pa.Table, labs: pa.Table, dxa: pa.Table, fractures: pa.Table,
                  truth: pa.Table) -> None:
        for kind, table in (("patients", patients), ("labs", labs), ("dxa", dxa), ("fractures", fractures)):
            self.roles[kind] += _counts(table, "_role")
        current = pc.is_in(labs["_role"], pa.array(list(CURRENT_FINAL_ROLES)))
        self.current_final += _counts(labs, "_analyte", current)
        for (analyte, unit), n in _pairs(labs, "_analyte", "_unit", current).items():
            self.current_final_units[f"{analyte}|{unit}"] += n
        loads = pc.invert(pc.is_in(labs["_role"], pa.array(["duplicate", "quarantined"])))
        self.loaded_status += _counts(labs, "status", loads)
        self.spellings += _counts(labs, "unit", loads)
        real = pc.equal(patients["_role"], "result")
        self.sex_spellings += _counts(patients, "sex", real)
        values = labs["value"].filter(loads)
        self.comma += int(pc.sum(pc.match_substring(values, ",")).as_py() or 0)
        self.comparators += int(pc.sum(pc.match_substring_regex(values, "^[<>]")).as_py() or 0)
        stamps = labs["collected_at"].filter(loads)
        self.offsets += int(pc.sum(pc.match_substring_regex(stamps, "[+-][0-9]{2}:[0-9]{2}$")).as_py() or 0)
        self.truth.append(truth)

    def truth_table(self) -> pa.Table:
        return pa.concat_tables(self.truth)

    def expected(self) -> dict:
        truth = self.truth_table()
        mg = truth["mg_mmol_l"].to_numpy()
        roles = self.roles
        quarantined = {kind: roles[kind]["quarantined"] for kind in roles}
        return {
            "patients": roles["patients"]["result"],
            "patients_by_sex": dict(sorted(_counts(truth.group_by(["patient_id", "sex"]).aggregate([]),
                                                    "sex").items())),
            "rows_loaded": {kind: sum(n for r, n in roles[kind].items() if r not in ("duplicate", "quarantined"))
                            for kind in roles},
            "rows_quarantined": quarantined,
            "rows_duplicate_within_files": {kind: roles[kind]["duplicate"] for kind in roles},
            "lab_rows_loaded_by_status": dict(sorted(self.loaded_status.items())),
            "current_final_results": dict(sorted(self.current_final.items())),
            "current_final_results_total": sum(self.current_final.values()),
            "current_final_results_by_unit": dict(sorted(self.current_final_units.items())),
            "assessments": truth.num_rows,
            "assessments_mg_deficient": int((mg < MG_DEFICIENT_BELOW).sum()),
            "assessments_mg_at_or_below_cutoff": int((mg <= MG_OP_CUTOFF).sum()),
            "who_category": dict(sorted(_counts(truth, "who_category").items())),
            "iscd_category": dict(sorted(_counts(truth, "iscd_category").items())),
            "patients_with_fragility_fracture_before_a_scan": len(set(
                truth.filter(truth["fragility_fracture_before"])["patient_id"].to_pylist())),
        }

    def messiness(self) -> dict:
        return {
            "lab_roles": dict(sorted(self.roles["labs"].items())),
            "patient_roles": dict(sorted(self.roles["patients"].items())),
            "dxa_roles": dict(sorted(self.roles["dxa"].items())),
            "fracture_roles": dict(sorted(self.roles["fractures"].items())),
            "unit_spellings_loaded": dict(sorted(self.spellings.items())),
            "sex_spellings": dict(sorted(self.sex_spellings.items())),
            "decimal_comma_values_loaded": self.comma,
            "comparator_values_loaded": self.comparators,
            "timestamps_with_offset_loaded": self.offsets,
        }

    def truth_summary(self) -> dict:
        truth = self.truth_table()
        p = truth["p_true"].to_numpy()
        y = truth["outcome"].to_numpy()
        area = auroc(p, y)
        return {
            "model": MODEL.to_dict(),
            "b0": MODEL.b0,
            "coefficients": MODEL.coefficients,
            "n_assessments": truth.num_rows,
            "prevalence": float(y.mean()),
            "mean_p_true": float(p.mean()),
            "auroc": None if math.isnan(area) else area,   # None: only one outcome drawn
        }


def add_file_rows(entry: FileEntry, table: pa.Table, all_duplicates: bool = False) -> None:
    """Count a batch of rows written to one file into that file's expectations."""
    n = table.num_rows
    entry.rows_written += n
    if all_duplicates:
        entry.rows_duplicate += n
        return
    roles = _counts(table, "_role")
    reasons = _counts(table, "_reason", pc.equal(table["_role"], "quarantined"))
    entry.rows_duplicate += roles["duplicate"]
    entry.rows_quarantined += roles["quarantined"]
    entry.rows_loaded += n - roles["duplicate"] - roles["quarantined"]
    for reason, count in reasons.items():
        entry.quarantine_by_reason[reason] = entry.quarantine_by_reason.get(reason, 0) + count


@dataclass
class Manifest:
    """The generator's statement of what it wrote and what the registry must make of it.

    Per-file counts assume the files are loaded in the listed order (which is also name order,
    the order `osteoreg ingest FOLDER` uses); only `labs_overlap.csv` depends on it (all of its
    rows re-deliver rows of the main lab files)."""

    seed: int
    n_patients: int
    messy: bool
    lab_files: int
    formats: list[str]
    overlap: bool
    block_size: int
    files: list[FileEntry]
    expected: dict
    messiness: dict
    truth: dict
    truth_assessments_inline: dict | None = None   # columns as lists; None when in TRUTH_FILE
    generator: str = "etl.synth"
    manifest_version: int = 1
    path: Path | None = None

    def to_dict(self) -> dict:
        data = {name: getattr(self, name) for name in self.__dataclass_fields__ if name != "path"}
        data["files"] = [asdict(f) for f in self.files]
        return data

    def save(self, path: Path) -> Path:
        """Indented JSON for the statements; the per-assessment columns compact (they are long)."""
        path = Path(path)
        data = self.to_dict()
        inline = data.pop("truth_assessments_inline")
        head = json.dumps(data, indent=1, allow_nan=False)
        columns = json.dumps(inline, separators=(",", ":"), allow_nan=False)
        path.write_text(f'{head[:-2]},\n "truth_assessments_inline": {columns}\n}}\n', encoding="utf-8")
        self.path = path
        return path

    @classmethod
    def load(cls, path: Path) -> "Manifest":
        path = Path(path)
        data = json.loads(path.read_text(encoding="utf-8"))
        data["files"] = [FileEntry(**f) for f in data["files"]]
        return cls(**data, path=path)

    @property
    def input_paths(self) -> list[Path]:
        """The generated export files in load order (absolute when the manifest has a path)."""
        root = self.path.parent if self.path else Path(".")
        return [root / f.path for f in self.files]

    def total(self, attribute: str) -> int:
        return sum(getattr(f, attribute) for f in self.files)

    def quarantine_by_reason(self) -> dict[str, int]:
        totals: Counter = Counter()
        for f in self.files:
            totals.update(f.quarantine_by_reason)
        return dict(sorted(totals.items()))

    def truth_assessments(self) -> pa.Table:
        """One row per assessment: the drawn truth (true probability, outcome, categories)."""
        inline = self.truth_assessments_inline
        if inline is not None:
            table = pa.table(inline)
            return table.set_column(table.schema.get_field_index("scan_date"), "scan_date",
                                    pc.cast(pc.strptime(table["scan_date"], "%Y-%m-%d", "s"), pa.date32()))
        root = self.path.parent if self.path else Path(".")
        return pq.read_table(root / self.truth["assessments_file"])


def attach_truth(truth_summary: dict, truth: pa.Table, out_dir: Path) -> tuple[dict, dict | None]:
    """The summary and the per-assessment truth: inline columns, or (large cohorts) the hidden
    Parquet file that the summary then names."""
    table = truth.select(TRUTH_COLUMNS)
    if table.num_rows <= INLINE_TRUTH_LIMIT:
        columns = table.to_pydict()
        columns["scan_date"] = [d.isoformat() for d in columns["scan_date"]]
        return truth_summary, columns
    pq.write_table(table, out_dir / TRUTH_FILE)
    return {**truth_summary, "assessments_file": TRUTH_FILE}, None
