"""Seed inputs for the fuzzer: small valid files of every format the registry reads.

Hand-written in the contract's shapes, plus the public samples in ../shared/fixtures/external
(HL7 from python-hl7, node-hl7-complete and Microsoft's FHIR-Converter; FHIR from US Core) when
they are present. Rows carry no quote characters, so line-oriented mutations keep one record per line.
"""
from __future__ import annotations

import json
from pathlib import Path

EXTERNAL = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "external"

PATIENTS = ["patient_id,sex,birth_date,menopausal_status,ethnicity"] + [
    f"F{i:03d},{'F' if i % 3 else 'M'},19{40 + i % 50}-0{1 + i % 9}-1{i % 10},{('pre', 'post', '')[i % 3]},"
    for i in range(30)]
LABS = ["patient_id,collected_at,code,value,unit,status,accession_id"] + [
    f"F{i % 30:03d},2024-0{1 + i % 9}-1{i % 10}T08:{i % 60:02d}:00,{('2601-3', '19123-9', '14635-7', '2731-8')[i % 4]},"
    f"{('0.81', '1,9', '<20', '71')[i % 4]},{('mmol/L', 'mg/dL', 'nmol/L', 'pg/mL')[i % 4]},{'FFFC'[i % 4]},A{i}"
    for i in range(60)]
DXA = ["patient_id,scan_date,site,side,t_score,z_score,bmd_g_cm2"] + [
    f"F{i % 30:03d},2024-02-{1 + i % 28:02d},{('femoral_neck', 'total_hip', 'lumbar_spine_l1_l4')[i % 3]},"
    f"{('left', 'right', '')[i % 3]},{-3 + (i % 7) * 0.5},{-1 + (i % 4) * 0.5},0.{60 + i % 30}"
    for i in range(40)]
FRACTURES = ["patient_id,fracture_date,site,fragility"] + [
    f"F{i % 30:03d},2023-0{1 + i % 9}-0{1 + i % 9},{('wrist', 'hip', 'vertebra')[i % 3]},{('true', 'false', '')[i % 3]}"
    for i in range(20)]

FLAT = {"patients": PATIENTS, "labs": LABS, "dxa": DXA, "fractures": FRACTURES}

HL7 = ("MSH|^~\\&|LIS|HOSP|REG|HOSP|20240305103000||ORU^R01|MSG{n}|P|2.5.1\r"
       "PID|1||MRN{n}^^^HOSP^MR||DOE^JANE||19500203|F\r"
       "OBR|1||ACC{n}|24326-1^Electrolytes^LN|||20240305083000\r"
       "OBX|1|NM|19123-9^Magnesium^LN||1.9|mg/dL|1.7-2.2|N|||F|||20240305083000\r"
       "OBX|2|SN|14635-7^25-OH vitamin D^LN||<^20|nmol/L|||||F\r")

PATIENT = {"resourceType": "Patient", "id": "pat-1",
           "identifier": [{"system": "urn:oid:1.2.3", "value": "MRN1", "type": {"coding": [{"code": "MR"}]}}],
           "gender": "female", "birthDate": "1950-02-03"}
OBSERVATION = {"resourceType": "Observation", "id": "obs-1", "status": "final",
               "code": {"coding": [{"system": "http://loinc.org", "code": "19123-9"}]},
               "subject": {"reference": "Patient/pat-1"}, "effectiveDateTime": "2024-03-05T08:30:00+01:00",
               "valueQuantity": {"value": 1.9, "unit": "mg/dL", "code": "mg/dL"}}
DXA_OBSERVATION = {"resourceType": "Observation", "id": "dxa-1", "status": "final",
                   "code": {"coding": [{"system": "http://loinc.org", "code": "38263-0"}]},
                   "subject": {"reference": "Patient/pat-1"}, "effectiveDateTime": "2024-03-01",
                   "valueQuantity": {"value": -2.6, "unit": "{T-score}"}}
CONDITION = {"resourceType": "Condition", "id": "fx-1", "subject": {"reference": "Patient/pat-1"},
             "code": {"coding": [{"system": "http://snomed.info/sct", "code": "71620000", "display": "Fracture of femur"}]},
             "onsetDateTime": "2023-01-01"}
BUNDLE = {"resourceType": "Bundle", "type": "collection",
          "entry": [{"fullUrl": f"urn:uuid:{i}", "resource": r}
                    for i, r in enumerate([PATIENT, OBSERVATION, DXA_OBSERVATION, CONDITION])]}

PROFILE = """name: st-elsewhere-lis
delimiter: ";"
kinds:
  labs:
    match: [PatNr, Entnahme, Analyt, Ergebnis]
    columns: {patient_id: PatNr, collected_at: Entnahme, code: Analyt, value: Ergebnis, unit: Einheit}
    constants: {code_system: LOCAL}
    date_formats: ["%d.%m.%Y %H:%M"]
local_codes:
  MG: {loinc: "19123-9", unit: mg/dL}
default_units: {"2000-8": mmol/L}
"""
PROFILE_EXPORT = "PatNr;Entnahme;Analyt;Ergebnis;Einheit\n" + "".join(
    f"{100 + i};0{1 + i % 9}.03.2024 08:30;{('MG', '2000-8')[i % 2]};{1.9 + i / 10:.1f};{('', 'mmol/L')[i % 2]}\n"
    for i in range(20))


def csv_text(kind: str, delimiter: str = ",") -> str:
    return "\n".join(line.replace(",", delimiter) for line in FLAT[kind]) + "\n"


def hl7_messages(count: int = 3) -> str:
    return "".join(HL7.format(n=n) for n in range(count))


def external_files(pattern: str) -> list[bytes]:
    if not EXTERNAL.exists():
        return []
    return [p.read_bytes() for p in sorted(EXTERNAL.glob(pattern))]


def fhir_json_seeds() -> list[bytes]:
    own = [json.dumps(BUNDLE, indent=1).encode(), json.dumps(OBSERVATION).encode()]
    return own + external_files("us-core/*.json")


def ndjson_seed() -> bytes:
    return "".join(json.dumps(r) + "\n" for r in (PATIENT, OBSERVATION, DXA_OBSERVATION, CONDITION)).encode()


def hl7_seeds() -> list[bytes]:
    return [hl7_messages().encode()] + external_files("*/*.hl7")
