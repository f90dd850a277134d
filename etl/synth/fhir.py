"""The synthetic cohort as FHIR R4: Bulk-FHIR NDJSON (one resource type per file) or Bundles.

Each canonical row becomes one resource and rows keep their order, so a correction, a final after
a preliminary, a deletion or a duplicate reaches the registry after the version it changes, as
in the flat export. Resource ids carry the result's identity: a lab result is `<accession>-<code>`
and a DXA measure `<patient>-<date>-<site>-<side>-<measure>`, so every version of one result has
the same id (FHIR's own way of saying "this replaces that").

What FHIR has no element for uses the osteoreg extensions the reader knows (menopausal status,
fracture fragility); sex goes to `gender`; height and weight at a scan are US Core vital-sign
Observations on the scan date; a DXA row on a site outside the LOINC grid (a deliberately bad
row) is sent with a local code, so it reaches the registry as an untracked observation.
"""
from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path

import pyarrow as pa

from ..ingest.fhir import FRAGILITY_URL, LOINC, MENOPAUSAL_STATUS_URL, SNOMED, VITAL_SIGNS
from .. import terminology

UCUM = "http://unitsofmeasure.org"
LOCAL_DXA_SYSTEM = "urn:osteoreg:synthetic:dxa-site"
ETHNICITY_URL = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-ethnicity"
# SNOMED CT 125605004 |Fracture of bone (disorder)|: the site travels in bodySite.text.
FRACTURE_CODE = {"system": SNOMED, "code": "125605004", "display": "Fracture of bone"}
# HL7 letter -> FHIR Observation.status: the pairs the FHIR reader maps back (seed result_statuses).
STATUS = terminology.fhir_status_by_hl7()
_NUMBER = re.compile(r"(<=|>=|<|>)?\s*(-?\d+(?:[.,]\d+)?)")
_LAB_CATEGORY = [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                              "code": "laboratory"}]}]
_IMAGING_CATEGORY = [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                  "code": "imaging"}]}]
_VITAL_CATEGORY = [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                "code": "vital-signs"}]}]
_NAMESPACE = uuid.UUID("6f1d7c1e-7a0b-4d49-9d59-0b7a1d9e2c11")


def _dxa_loinc():
    """(site, side or '', measure) -> LOINC, from the seed `dxa_codes.csv`."""
    return terminology.dxa_loinc_by_measure()


def _column(table: pa.Table, name: str) -> list:
    return table.column(name).to_pylist() if name in table.column_names else [None] * table.num_rows


def _rows(table: pa.Table, names: list[str]) -> Iterator[dict]:
    columns = [_column(table, n) for n in names]
    for values in zip(*columns):
        yield dict(zip(names, values))


def _quantity(value: str | None, unit: str | None, ucum_code: bool) -> dict:
    """valueQuantity for numbers (decimal comma read as a point, comparator kept), else valueString."""
    if value is None or value == "":
        return {}
    match = _NUMBER.fullmatch(value.strip())
    if match is None:
        return {"valueString": value}
    comparator, digits = match.groups()
    number = float(digits.replace(",", "."))
    quantity: dict = {"value": int(number) if number.is_integer() and "." not in digits and "," not in digits
                      else number}
    if comparator:
        quantity["comparator"] = comparator
    if unit:
        quantity["unit"] = unit
        if ucum_code:
            quantity["system"] = UCUM
            quantity["code"] = unit
    return {"valueQuantity": quantity}


def patient_resources(patients: pa.Table) -> Iterator[dict]:
    names = ["patient_id", "sex", "birth_date", "menopausal_status", "ethnicity"]
    for row in _rows(patients, names):
        resource: dict = {"resourceType": "Patient"}
        if row["patient_id"]:
            resource["id"] = row["patient_id"]
            resource["identifier"] = [{"system": "urn:osteoreg:synthetic:patient", "value": row["patient_id"]}]
        sex = (row["sex"] or "").strip().lower()
        resource["gender"] = {"f": "female", "female": "female", "m": "male", "male": "male"}.get(sex, "unknown")
        if row["birth_date"]:
            resource["birthDate"] = row["birth_date"]
        extensions = []
        if row["menopausal_status"]:
            extensions.append({"url": MENOPAUSAL_STATUS_URL, "valueCode": row["menopausal_status"]})
        if row["ethnicity"]:
            extensions.append({"url": ETHNICITY_URL, "extension": [{"url": "text", "valueString": row["ethnicity"]}]})
        if extensions:
            resource["extension"] = extensions
        yield resource


def lab_resources(labs: pa.Table) -> Iterator[dict]:
    names = ["patient_id", "collected_at", "code", "name", "value", "unit", "reference_range",
             "abnormal_flag", "status", "accession_id", "_unit"]
    for row in _rows(labs, names):
        resource: dict = {
            "resourceType": "Observation",
            "id": f"{row['accession_id']}-{row['code']}",
            "status": STATUS.get(row["status"] or "F", row["status"]),
            "category": _LAB_CATEGORY,
            "code": {"coding": [{"system": LOINC, "code": row["code"], "display": row["name"]}], "text": row["name"]},
        }
        if row["patient_id"]:
            resource["subject"] = {"reference": f"Patient/{row['patient_id']}"}
        resource["effectiveDateTime"] = row["collected_at"]
        resource.update(_quantity(row["value"], row["unit"], row["unit"] == row["_unit"]))
        if row["reference_range"]:
            resource["referenceRange"] = [{"text": row["reference_range"]}]
        if row["abnormal_flag"]:
            resource["interpretation"] = [{"coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation",
                "code": row["abnormal_flag"]}]}]
        yield resource


def dxa_resources(dxa: pa.Table) -> Iterator[dict]:
    """One Observation per measure of each DXA row; height and weight once per scan."""
    grid = _dxa_loinc()
    names = ["patient_id", "scan_date", "site", "side", "t_score", "z_score", "bmd_g_cm2",
             "height_cm", "weight_kg"]
    vitals_sent: set[tuple[str, str]] = set()
    units = {"t_score": "1", "z_score": "1", "bmd_g_cm2": "g/cm2"}
    for row in _rows(dxa, names):
        pid, day, site, side = row["patient_id"], row["scan_date"], row["site"], row["side"] or ""
        for measure in ("bmd_g_cm2", "t_score", "z_score"):
            if not row[measure]:
                continue
            loinc = grid.get((site, side, measure))
            coding = ({"system": LOINC, "code": loinc} if loinc
                      else {"system": LOCAL_DXA_SYSTEM, "code": f"{site}-{side}-{measure}"})
            yield {
                "resourceType": "Observation", "id": f"{pid}-{day}-{site}-{side or 'na'}-{measure}",
                "status": "final", "category": _IMAGING_CATEGORY, "code": {"coding": [coding]},
                "subject": {"reference": f"Patient/{pid}"}, "effectiveDateTime": day,
                **_quantity(row[measure], units[measure], True),
            }
        if (pid, day) not in vitals_sent and site in terminology.dxa_sites():
            vitals_sent.add((pid, day))
            for loinc, (column, unit) in VITAL_SIGNS.items():
                if row[column]:
                    yield {
                        "resourceType": "Observation", "id": f"{pid}-{day}-{column}", "status": "final",
                        "category": _VITAL_CATEGORY, "code": {"coding": [{"system": LOINC, "code": loinc}]},
                        "subject": {"reference": f"Patient/{pid}"}, "effectiveDateTime": day,
                        **_quantity(row[column], unit, True),
                    }


def fracture_resources(fractures: pa.Table) -> Iterator[dict]:
    for row in _rows(fractures, ["patient_id", "fracture_date", "site", "fragility"]):
        resource = {
            "resourceType": "Condition", "id": f"{row['patient_id']}-fracture-{row['fracture_date']}-{row['site']}",
            "verificationStatus": {"coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": "confirmed"}]},
            "code": {"coding": [FRACTURE_CODE], "text": f"Fracture of {row['site']}"},
            "bodySite": [{"text": row["site"]}],
            "subject": {"reference": f"Patient/{row['patient_id']}"},
            "onsetDateTime": row["fracture_date"],
        }
        if row["fragility"]:
            resource["extension"] = [{"url": FRAGILITY_URL, "valueBoolean": row["fragility"] == "true"}]
        yield resource


def _blocks(blocks) -> list:
    return [blocks] if hasattr(blocks, "labs") else blocks


def write_ndjson(blocks: Iterable, out_dir: Path) -> list[Path]:
    """Bulk-FHIR NDJSON: `Patient.ndjson`, `Observation.ndjson` (labs, then DXA and vital signs),
    `Condition.ndjson`, one resource per line; returns the files in loading order."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {name: out_dir / f"{name}.ndjson" for name in ("Patient", "Observation", "Condition")}
    handles = {name: path.open("w", encoding="utf-8") for name, path in paths.items()}
    try:
        for block in _blocks(blocks):
            for resources, name in ((patient_resources(block.patients), "Patient"),
                                    (lab_resources(block.labs), "Observation"),
                                    (dxa_resources(block.dxa), "Observation"),
                                    (fracture_resources(block.fractures), "Condition")):
                handle = handles[name]
                handle.writelines(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n"
                                  for r in resources)
    finally:
        for handle in handles.values():
            handle.close()
    return list(paths.values())


def write_bundles(blocks: Iterable, out_dir: Path, patients_per_bundle: int = 50) -> list[Path]:
    """Transaction Bundles of a few patients each: Patients without `id` (an identifier and a
    `urn:uuid:` fullUrl instead), everything else referring to them by that fullUrl. All rows of a
    patient sit in one Bundle in their row order; rows without a patient go to a last Bundle."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    groups: dict[str | None, list[dict]] = {}
    for block in _blocks(blocks):
        for resource in (*patient_resources(block.patients), *lab_resources(block.labs),
                         *dxa_resources(block.dxa), *fracture_resources(block.fractures)):
            if resource["resourceType"] == "Patient":
                key = resource.get("id")
            else:
                reference = (resource.get("subject") or {}).get("reference")
                key = reference.split("/", 1)[1] if reference else None
            groups.setdefault(key, []).append(resource)
    keys = sorted(k for k in groups if k is not None) + ([None] if None in groups else [])
    paths = []
    for start in range(0, len(keys), patients_per_bundle):
        entries = []
        for key in keys[start:start + patients_per_bundle]:
            full_url = f"urn:uuid:{uuid.uuid5(_NAMESPACE, key)}" if key else None
            for resource in groups[key]:
                if resource["resourceType"] == "Patient":
                    resource = {k: v for k, v in resource.items() if k != "id"}
                    entry = {"fullUrl": full_url} if full_url and "identifier" in resource else {}
                else:
                    if full_url and "subject" in resource:
                        resource = {**resource, "subject": {"reference": full_url}}
                    entry = {"fullUrl": f"urn:uuid:{uuid.uuid5(_NAMESPACE, json.dumps(resource, sort_keys=True))}"}
                entry["resource"] = resource
                entry["request"] = {"method": "POST", "url": resource["resourceType"]}
                entries.append(entry)
        path = out_dir / f"bundle_{len(paths) + 1:04d}.json"
        path.write_text(json.dumps({"resourceType": "Bundle", "type": "transaction", "entry": entries},
                                   ensure_ascii=False), encoding="utf-8")
        paths.append(path)
    return paths
