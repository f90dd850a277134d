"""Daily feeds for the incremental-build tests (osteoreg issue 17), written as real CSV exports.

A base cohort, then feeds that each bring what a registry receives on a day: new patients with
their labs and scans, new results for known patients, corrections (status C, same accession and
code) and deletions (status D) of old results, preliminary results (P) made final (F) by the next
feed, re-sent fractures whose fragility changed, demographic changes (a new menopausal status, a
corrected sex), and results of a LOINC code the seed does not track yet (14635-7, vitamin D3 in
nmol/L; the test adds it to the seed between two feeds). Everything is drawn from one seeded
`random.Random`, so the same seed writes the same files.
"""
from __future__ import annotations

import csv
import datetime as dt
import random
from dataclasses import dataclass, field
from pathlib import Path

PATIENTS = ["patient_id", "sex", "birth_date", "menopausal_status"]
LABS = ["patient_id", "collected_at", "code", "value", "unit", "status", "accession_id"]
DXA = ["patient_id", "scan_date", "site", "side", "t_score", "z_score", "bmd_g_cm2"]
FRACTURES = ["patient_id", "fracture_date", "site", "fragility"]

UNTRACKED_CODE = "14635-7"   # vitamin D3 (nmol/L): in contract 7, removed from the test's seed at first
# code, unit, value range: magnesium, calcium, 25-OH D, PTH, CRP, albumin (contract 7)
TESTS = [("2601-3", "mmol/L", 0.55, 1.05), ("19123-9", "mg/dL", 1.4, 2.6), ("17861-6", "mg/dL", 8.0, 10.6),
         ("62292-8", "ng/mL", 8.0, 45.0), ("2731-8", "pg/mL", 20.0, 110.0), ("1988-5", "mg/L", 0.5, 14.0),
         ("1751-7", "g/L", 30.0, 48.0)]
SITES = ["lumbar_spine_l1_l4", "femoral_neck", "total_hip"]


@dataclass
class _Result:
    patient_id: str
    collected_at: str
    code: str
    unit: str
    low: float
    high: float
    accession_id: str


@dataclass
class Feeds:
    """The cohort as the registry has been told it so far; `write_*` add one export folder."""

    seed: int
    rng: random.Random = field(init=False)
    patients: dict[str, dict] = field(default_factory=dict)
    results: list[_Result] = field(default_factory=list)
    preliminary: list[tuple[_Result, str]] = field(default_factory=list)
    fractures: list[dict] = field(default_factory=list)
    _accessions: int = 0

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def write_base(self, out: Path, n_patients: int) -> Path:
        files = _Files()
        for _ in range(n_patients):
            self._new_patient(files)
        return files.write(out)

    def write_feed(self, out: Path, day: int, new_patients: int = 6, new_results: int = 8, corrections: int = 5,
                   deletions: int = 3, preliminaries: int = 3, fractures: int = 2, demographics: int = 3,
                   untracked: int = 3) -> Path:
        rng, files = self.rng, _Files()
        for result, value in self.preliminary:               # yesterday's preliminaries become final
            files.labs.append(self._lab_row(result, "F", value=value))
        self.preliminary = []
        for _ in range(new_patients):
            self._new_patient(files)
        for patient_id in rng.sample(sorted(self.patients), new_results):
            self._new_results(files, patient_id, rng.randint(1, 2))
        for result in rng.sample(self.results, corrections):  # corrections reach any old result
            files.labs.append(self._lab_row(result, "C"))
        for result in rng.sample(self.results, deletions):
            files.labs.append(self._lab_row(result, "D"))
            self.results.remove(result)
        for patient_id in rng.sample(sorted(self.patients), preliminaries):
            result = self._result(patient_id, self.patients[patient_id]["scan"])
            value = self._value(result)
            files.labs.append(self._lab_row(result, "P", value=self._value(result)))
            self.preliminary.append((result, value))
        for fracture in rng.sample(self.fractures, min(fractures, len(self.fractures))):
            fracture["fragility"] = "false" if fracture["fragility"] == "true" else "true"
            files.fractures.append(dict(fracture))
        for patient_id in rng.sample(sorted(self.patients), demographics):
            patient = self.patients[patient_id]
            if patient["sex"] == "F":
                patient["menopausal_status"] = "post" if patient["menopausal_status"] != "post" else "peri"
            else:
                patient["sex"] = "F"
                patient["menopausal_status"] = "post"
            files.patients.append({key: patient[key] for key in PATIENTS})
        for patient_id in rng.sample(sorted(self.patients), untracked):
            scan = self.patients[patient_id]["scan"]
            when = scan + dt.timedelta(days=rng.randint(-30, 30))
            self._accessions += 1
            files.labs.append({"patient_id": patient_id, "collected_at": f"{when}T09:{day % 60:02d}:00",
                               "code": UNTRACKED_CODE, "value": f"{rng.uniform(20, 110):.1f}", "unit": "nmol/L",
                               "status": "F", "accession_id": f"U{self._accessions:06d}"})
        return files.write(out)

    # -- drawing ---------------------------------------------------------------------------
    def _new_patient(self, files: _Files) -> None:
        rng = self.rng
        patient_id = f"P{len(self.patients) + 1:05d}"
        sex = "F" if rng.random() < 0.75 else "M"
        birth = dt.date(rng.randint(1935, 1985), rng.randint(1, 12), rng.randint(1, 28))
        status = (rng.choice(["pre", "peri", "post", "post", ""]) if sex == "F" else "")
        scan = dt.date(rng.randint(2018, 2024), rng.randint(1, 12), rng.randint(1, 28))
        self.patients[patient_id] = {"patient_id": patient_id, "sex": sex, "birth_date": str(birth),
                                     "menopausal_status": status, "scan": scan}
        files.patients.append({"patient_id": patient_id, "sex": sex, "birth_date": str(birth),
                               "menopausal_status": status})
        for scan_date in [scan] + ([scan + dt.timedelta(days=rng.randint(380, 800))] if rng.random() < 0.4 else []):
            for site in SITES:
                sides = ["left", "right"] if site != "lumbar_spine_l1_l4" and rng.random() < 0.3 else [""]
                for side in sides:
                    t_score = rng.uniform(-4.0, 1.5)
                    files.dxa.append({"patient_id": patient_id, "scan_date": str(scan_date), "site": site,
                                      "side": side, "t_score": f"{t_score:.1f}",
                                      "z_score": f"{t_score + rng.uniform(0, 1.5):.1f}",
                                      "bmd_g_cm2": f"{0.9 + t_score * 0.1:.3f}"})
        self._new_results(files, patient_id, rng.randint(3, 7))
        if rng.random() < 0.25:
            fracture = {"patient_id": patient_id, "fracture_date": str(scan - dt.timedelta(days=rng.randint(-400, 900))),
                        "site": rng.choice(["hip", "wrist", "vertebra"]), "fragility": rng.choice(["true", "false"])}
            self.fractures.append(fracture)
            files.fractures.append(dict(fracture))

    def _new_results(self, files: _Files, patient_id: str, n: int) -> None:
        for _ in range(n):
            result = self._result(patient_id, self.patients[patient_id]["scan"])
            self.results.append(result)
            files.labs.append(self._lab_row(result, "F"))

    def _result(self, patient_id: str, scan: dt.date) -> _Result:
        code, unit, low, high = self.rng.choice(TESTS)
        when = dt.datetime.combine(scan, dt.time(8)) + dt.timedelta(days=self.rng.randint(-120, 120),
                                                                    minutes=self.rng.randint(0, 600))
        self._accessions += 1
        return _Result(patient_id, when.isoformat(), code, unit, low, high, f"A{self._accessions:06d}")

    def _value(self, result: _Result) -> str:
        return f"{self.rng.uniform(result.low, result.high):.2f}"

    def _lab_row(self, result: _Result, status: str, value: str | None = None) -> dict:
        return {"patient_id": result.patient_id, "collected_at": result.collected_at, "code": result.code,
                "value": value if value is not None else self._value(result), "unit": result.unit,
                "status": status, "accession_id": result.accession_id}


@dataclass
class _Files:
    patients: list[dict] = field(default_factory=list)
    labs: list[dict] = field(default_factory=list)
    dxa: list[dict] = field(default_factory=list)
    fractures: list[dict] = field(default_factory=list)

    def write(self, out: Path) -> Path:
        out.mkdir(parents=True, exist_ok=True)
        for name, header, rows in [("patients", PATIENTS, self.patients), ("labs", LABS, self.labs),
                                   ("dxa", DXA, self.dxa), ("fractures", FRACTURES, self.fractures)]:
            if rows:
                with open(out / f"{name}.csv", "w", newline="", encoding="utf-8") as handle:
                    writer = csv.DictWriter(handle, fieldnames=header)
                    writer.writeheader()
                    writer.writerows(rows)
        return out
