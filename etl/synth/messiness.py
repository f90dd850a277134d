"""What real exports do to clean facts: spellings, corrections, re-deliveries and bad rows.

Every output row is a plan over a clean base row (which row, which role, which status, which
value digits), so a correction, a duplicate or a bad row is the base row's text with one thing
changed, and the role column (`_role`, `_reason`) says exactly what a correct ingest must do
with it. Removing rows is never used on the results the truth model reads (the magnesium and
beta-CTx matched to a scan): those may be corrected or finalised later, but their current final
value is always the true one.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .. import terminology
from ..errors import OsteoregError
from . import conventions, text
from .conventions import A, ANALYTES
from .people import DXA_SIDES, DXA_SITES, ETHNICITY, MENOPAUSAL, bmd_reference, patient_ids

STATUSES = ["F", "C", "A", "P", "D", "X"]
ROLES = ["result", "superseded", "correction", "preliminary", "finalised", "pending", "removed", "deletion",
         "cancelled", "duplicate", "quarantined"]
# Roles whose row is the current final version of a result after a correct ingest and dbt build.
CURRENT_FINAL_ROLES = ("result", "correction", "finalised")
REASONS = ["", "missing_patient_id", "invalid_date", "invalid_number", "unknown_unit", "invalid_site"]
R = {name: i for i, name in enumerate(REASONS)}
_ROLE = {name: i for i, name in enumerate(ROLES)}
_STATUS = {name: i for i, name in enumerate(STATUSES)}

BAD_NUMBERS = ["abc", "hemolysed", "0.8.1"]
BAD_UNITS = ["mg/kg", "mmol/kg"]
BAD_SITES = ["forearm", "whole_body", "l2_l4"]


@dataclass(frozen=True)
class Rates:
    """Shares of base rows (labs) per kind of mess; bad rows per reason are a share with a floor of
    one per block, so even a tiny cohort exercises every quarantine reason."""

    corrected: float = 0.010
    preliminary_then_final: float = 0.010
    pending: float = 0.002
    removed: float = 0.003
    cancelled: float = 0.003
    duplicate: float = 0.005
    bad_lab_rows: float = 0.0002
    amended_share: float = 0.10          # of corrections sent as A (amended) rather than C
    unit_canonical_share: float = 0.70   # of rows with the unit's canonical spelling
    dxa_duplicate: float = 0.003
    dxa_bad_site: float = 0.0005
    patient_duplicate: float = 0.002
    patient_bad: float = 0.0005
    fracture_duplicate: float = 0.01
    fracture_bad_date: float = 0.005


RATES = Rates()


def _check_vocabularies() -> None:
    """The reasons must be the seed's, and the bad units and sites must really be unknown."""
    unknown = set(REASONS[1:]) - set(terminology.quarantine_reasons())
    if unknown:
        raise OsteoregError(f"quarantine_reasons.csv no longer names {', '.join(sorted(unknown))}.")
    if any(terminology.unit_key(u) in terminology.unit_by_key() for u in BAD_UNITS):
        raise OsteoregError(f"One of the generator's unknown units ({', '.join(BAD_UNITS)}) is now in the unit seeds.")
    if set(BAD_SITES) & set(terminology.dxa_sites()):
        raise OsteoregError(f"One of the generator's invalid DXA sites ({', '.join(BAD_SITES)}) is now in dxa_codes.csv.")


_check_vocabularies()


def _at_least_one(rate: float, n: int) -> int:
    return max(1, int(round(rate * n))) if n else 0


def _role_columns(role: np.ndarray, reason: np.ndarray) -> dict[str, pa.Array]:
    return {"_role": text.take(ROLES, role),
            "_reason": text.null_where(reason == 0, text.take(REASONS, reason))}


def _invalid_day(iso: pa.Array) -> pa.Array:
    """The same text with month and day made impossible (`YYYY-02-30...`)."""
    return text.concat(pc.utf8_slice_codeunits(iso, 0, 4), "-02-30", pc.utf8_slice_codeunits(iso, 10))


# --------------------------------------------------------------------------------------------
# patients
# --------------------------------------------------------------------------------------------

def patients_table(rng, pid: np.ndarray, people: dict, messy: bool) -> pa.Table:

    n = people["n"]
    female = people["female"]
    spelling = np.zeros(n, dtype=np.int64)
    if messy:
        u = rng.random(n)
        spelling = np.where(u < 0.88, 0, np.where(u < 0.96, 1, 2))
    sex = text.take(["M", "Male", "male", "F", "female", "FEMALE"], spelling + 3 * female)
    source = np.arange(n)
    role = np.zeros(n, dtype=np.int64)
    reason = np.zeros(n, dtype=np.int64)
    if messy:
        dup = rng.choice(n, min(n, _at_least_one(RATES.patient_duplicate, n)), replace=False)
        ghosts = rng.choice(n, min(n, 2 * _at_least_one(RATES.patient_bad, n)), replace=False)
        half = len(ghosts) // 2 or len(ghosts)
        tail_source = np.concatenate([dup, ghosts])
        tail_role = np.concatenate([np.full(len(dup), _ROLE["duplicate"]), np.full(len(ghosts), _ROLE["quarantined"])])
        tail_reason = np.concatenate([np.zeros(len(dup), dtype=np.int64), np.full(half, R["missing_patient_id"]),
                                      np.full(len(ghosts) - half, R["invalid_date"])])
        order = rng.permutation(len(tail_source))
        source = np.concatenate([source, tail_source[order]])
        role = np.concatenate([role, tail_role[order]])
        reason = np.concatenate([reason, tail_reason[order]])

    ids = patient_ids(pid[source])
    ghost_ids = text.concat("G", text.zero_padded(pid[source] + 1, 7))
    ids = text.replace_where(reason == R["invalid_date"], ghost_ids, ids)
    ids = text.null_where(reason == R["missing_patient_id"], ids)
    birth = text.iso_date(people["birth"][source])
    birth = text.replace_where(reason == R["invalid_date"], _invalid_day(birth), birth)
    menopausal = people["menopausal"][source]
    ethnicity = people["ethnicity"][source]
    return pa.table({
        "patient_id": ids,
        "sex": sex.take(pa.array(source)),
        "birth_date": birth,
        "menopausal_status": text.null_where(menopausal == 0, text.take(MENOPAUSAL, menopausal)),
        "ethnicity": text.null_where(np.array(ETHNICITY)[ethnicity] == "", text.take(ETHNICITY, ethnicity)),
        **_role_columns(role, reason),
        "_patient": pa.array(pid[source]),
    })


# --------------------------------------------------------------------------------------------
# labs
# --------------------------------------------------------------------------------------------

def _perturbed(rng, k: np.ndarray) -> np.ndarray:
    """A different value of the same order (what a first, wrong or preliminary result shows)."""
    step = np.maximum(1, np.rint(np.abs(k) * rng.uniform(0.02, 0.15, len(k)))).astype(np.int64)
    sign = np.where(rng.random(len(k)) < 0.5, -1, 1)
    out = k + sign * step
    return np.where(out < 0, k + step, out)


def labs_table(rng, block: int, pid: np.ndarray, people: dict, colls: dict, results: dict, conv,
               messy: bool) -> pa.Table:

    coll, analyte, hospital = results["coll"], results["analyte"], results["hospital"]
    k_true, comparator = results["k"], results["comparator"]
    n_base, n_c = len(k_true), len(colls["day"])
    hospitals = conventions.HOSPITALS
    vocab_index = hospital * len(ANALYTES) + analyte

    # Spelling, decimal comma and offset: per row, per collection (one report), per collection.
    spell_vocab, spell_start, spell_count = [], [], []
    for spellings in conv.spellings:
        spell_start.append(len(spell_vocab))
        spell_count.append(len(spellings))
        spell_vocab.extend(spellings)
    spell_start, spell_count = np.array(spell_start), np.array(spell_count)
    spelling = np.zeros(n_base, dtype=np.int64)
    comma_c = np.zeros(n_c, dtype=bool)
    offset_c = np.zeros(n_c, dtype=bool)
    if messy:
        variant = rng.random(n_base) >= RATES.unit_canonical_share
        pick = 1 + np.floor(rng.random(n_base) * (spell_count[vocab_index] - 1)).astype(np.int64)
        spelling = np.where(variant & (spell_count[vocab_index] > 1), pick, 0)
        comma_c = rng.random(n_c) < np.array([h.decimal_comma for h in hospitals])[colls["hospital"]]
        offset_c = rng.random(n_c) < np.array([h.offset for h in hospitals])[colls["hospital"]]
    spell_index = spell_start[vocab_index] + spelling

    # The plan: base rows first (in report order), then everything re-sent later, shuffled.
    base_status = np.zeros(n_base, dtype=np.int64)
    base_role = np.zeros(n_base, dtype=np.int64)
    base_k = k_true.copy()
    base_null = np.zeros(n_base, dtype=bool)
    tails = []                                    # (source, role, status, k, null, reason)
    n_bad = 0
    if messy:
        protected = np.isin(analyte, (A["magnesium"], A["beta_ctx"])) & (colls["assessment"][coll] >= 0)
        bounds = np.cumsum([RATES.corrected, RATES.preliminary_then_final, RATES.pending, RATES.removed,
                            RATES.cancelled])
        category = np.searchsorted(bounds, rng.random(n_base), side="right")   # 0..4 mess, 5 plain
        category[protected & (category >= 2) & (category <= 4)] = 5
        category[(comparator != 0) & (category <= 1)] = 5
        corrected, preliminary, pending, removed, cancelled = (np.nonzero(category == c)[0] for c in range(5))
        plain = np.nonzero(category == 5)[0]

        wrong = _perturbed(rng, k_true[corrected])
        base_k[corrected] = wrong
        base_role[corrected] = _ROLE["superseded"]
        amended = rng.random(len(corrected)) < RATES.amended_share
        tails.append((corrected, np.full(len(corrected), _ROLE["correction"]),
                      np.where(amended, _STATUS["A"], _STATUS["C"]), k_true[corrected],
                      np.zeros(len(corrected), bool), np.zeros(len(corrected), np.int64)))

        same = rng.random(len(preliminary)) < 0.5
        base_k[preliminary] = np.where(same, k_true[preliminary], _perturbed(rng, k_true[preliminary]))
        base_status[preliminary] = _STATUS["P"]
        base_role[preliminary] = _ROLE["preliminary"]
        tails.append((preliminary, np.full(len(preliminary), _ROLE["finalised"]),
                      np.full(len(preliminary), _STATUS["F"]), k_true[preliminary],
                      np.zeros(len(preliminary), bool), np.zeros(len(preliminary), np.int64)))

        base_status[pending] = _STATUS["P"]
        base_role[pending] = _ROLE["pending"]

        base_role[removed] = _ROLE["removed"]
        tails.append((removed, np.full(len(removed), _ROLE["deletion"]), np.full(len(removed), _STATUS["D"]),
                      k_true[removed], rng.random(len(removed)) < 0.5, np.zeros(len(removed), np.int64)))

        base_status[cancelled] = _STATUS["X"]
        base_role[cancelled] = _ROLE["cancelled"]
        base_null[cancelled] = True

        duplicated = plain[rng.random(len(plain)) < RATES.duplicate]
        tails.append((duplicated, np.full(len(duplicated), _ROLE["duplicate"]),
                      np.full(len(duplicated), _STATUS["F"]), k_true[duplicated],
                      np.zeros(len(duplicated), bool), np.zeros(len(duplicated), np.int64)))

        lab_reasons = [R["missing_patient_id"], R["invalid_date"], R["invalid_number"], R["unknown_unit"]]
        per_reason = _at_least_one(RATES.bad_lab_rows, n_base)
        bad = rng.choice(plain, len(lab_reasons) * per_reason, replace=len(plain) < len(lab_reasons) * per_reason)
        n_bad = len(bad)
        tails.append((bad, np.full(n_bad, _ROLE["quarantined"]), np.full(n_bad, _STATUS["F"]), k_true[bad],
                      np.zeros(n_bad, bool), np.repeat(lab_reasons, per_reason)))

    columns = [np.concatenate([t[i] for t in tails]) if tails else np.array([], dtype=np.int64) for i in range(6)]
    order = rng.permutation(len(columns[0])) if messy else np.arange(0)
    source = np.concatenate([np.arange(n_base), columns[0][order]]).astype(np.int64)
    role = np.concatenate([base_role, columns[1][order]]).astype(np.int64)
    status = np.concatenate([base_status, columns[2][order]]).astype(np.int64)
    k = np.concatenate([base_k, columns[3][order]]).astype(np.int64)
    null_value = np.concatenate([base_null, columns[4][order]]).astype(bool)
    reason = np.concatenate([np.zeros(n_base, np.int64), columns[5][order]]).astype(np.int64)
    # A bad row is a result of its own (fresh accession), so it can never touch a real one.
    accession = block * 10_000_000 + coll[source]
    is_bad = reason != 0
    accession[is_bad] = block * 10_000_000 + 9_000_000 + np.arange(is_bad.sum())

    c = coll[source]
    a = analyte[source]
    decimals = results["decimals"][source]
    comma = comma_c[c]
    day = colls["day"][c]
    _, month, _ = text.day_parts(day)
    offset = text.null_where(~offset_c[c], text.take(["+01:00", "+02:00"], ((month >= 4) & (month <= 10)).astype(int)))
    collected = text.iso_timestamp(day, colls["minute"][c], offset)
    collected = text.replace_where(reason == R["invalid_date"], _invalid_day(collected), collected)

    comp = comparator[source]
    number = text.fixed(k, decimals, comma)
    value = pc.if_else(pa.array(comp == 1), text.concat("<", number),
                       pc.if_else(pa.array(comp == 2), text.concat(">", number), number))
    value = text.replace_where(reason == R["invalid_number"],
                               text.take(BAD_NUMBERS, np.arange(len(k)) % len(BAD_NUMBERS)), value)
    value = text.null_where(null_value, value)

    unit = text.take(spell_vocab, spell_index[source])
    unit = text.replace_where(reason == R["unknown_unit"], text.take(BAD_UNITS, np.arange(len(k)) % len(BAD_UNITS)),
                              unit)

    si = k / 10.0 ** decimals * results["factor"][source]
    normal = np.array([h.normal_flag for h in hospitals])[hospital[source]]
    flag = np.where(si < conv.ref_low[a], "L", np.where(si > conv.ref_high[a], "H", normal))
    flag_text = text.null_where(null_value | (flag == ""), text.strings(flag))

    ids = text.null_where(reason == R["missing_patient_id"], patient_ids(pid[colls["patient"][c]]))
    vocab = vocab_index[source]
    return pa.table({
        "patient_id": ids,
        "collected_at": collected,
        "code": text.take(conv.code, vocab),
        "code_system": text.take(["LOINC"], np.zeros(len(k), dtype=np.int64)),
        "name": text.take(conv.name, vocab),
        "value": value,
        "unit": unit,
        "reference_range": text.take(conv.range_text, vocab * 2 + comma),
        "abnormal_flag": flag_text,
        "status": text.take(STATUSES, status),
        "accession_id": text.concat("ACC", text.zero_padded(accession, 10)),
        **_role_columns(role, reason),
        "_analyte": text.take(ANALYTES, a),
        "_unit": text.take(conv.unit, vocab),
        "_patient": pa.array(pid[colls["patient"][c]]),
    })


# --------------------------------------------------------------------------------------------
# DXA and fractures
# --------------------------------------------------------------------------------------------

def dxa_table(rng, pid: np.ndarray, people: dict, scans: dict, rows: dict, messy: bool) -> pa.Table:

    n = len(rows["t"])
    source = np.arange(n)
    role = np.zeros(n, dtype=np.int64)
    reason = np.zeros(n, dtype=np.int64)
    if messy and n:
        dup = np.nonzero(rng.random(n) < RATES.dxa_duplicate)[0]
        if not len(dup):
            dup = rng.choice(n, 1)
        n_bad = min(len(scans["day"]), _at_least_one(RATES.dxa_bad_site, n))
        # one bad row per chosen scan (its first row), so no two bad rows can be the same text
        first_row = np.searchsorted(rows["assessment"], rng.choice(len(scans["day"]), n_bad, replace=False))
        tail_source = np.concatenate([dup, first_row])
        tail_role = np.concatenate([np.full(len(dup), _ROLE["duplicate"]), np.full(n_bad, _ROLE["quarantined"])])
        tail_reason = np.concatenate([np.zeros(len(dup), np.int64), np.full(n_bad, R["invalid_site"])])
        order = rng.permutation(len(tail_source))
        source = np.concatenate([source, tail_source[order]])
        role = np.concatenate([role, tail_role[order]])
        reason = np.concatenate([reason, tail_reason[order]])

    assessment = rows["assessment"][source]
    slot = rows["slot"][source]
    patient = scans["patient"][assessment]
    mean, sd = bmd_reference(people["female"][patient], slot)
    t = rows["t"][source]
    bmd = np.rint((mean + t / 10.0 * sd) * 1000).astype(np.int64)
    site = text.take(DXA_SITES, slot)
    site = text.replace_where(reason == R["invalid_site"], text.take(BAD_SITES, np.arange(len(t)) % len(BAD_SITES)),
                              site)
    manufacturers = [h.manufacturer for h in conventions.HOSPITALS]
    return pa.table({
        "patient_id": patient_ids(pid[patient]),
        "scan_date": text.iso_date(scans["day"][assessment]),
        "site": site,
        "side": text.strings(np.array(DXA_SIDES, dtype=object)[slot]),
        "t_score": text.fixed(t, 1),
        "z_score": text.fixed(rows["z"][source], 1),
        "bmd_g_cm2": text.fixed(bmd, 3),
        "manufacturer": text.take(manufacturers, people["hospital"][patient]),
        "height_cm": text.fixed(scans["height_k"][assessment], 1),
        "weight_kg": text.fixed(scans["weight_k"][assessment], 1),
        **_role_columns(role, reason),
        "_patient": pa.array(pid[patient]),
    })


def fractures_table(rng, pid: np.ndarray, fractures: dict, messy: bool) -> pa.Table:

    n = len(fractures["day"])
    source = np.arange(n)
    role = np.zeros(n, dtype=np.int64)
    reason = np.zeros(n, dtype=np.int64)
    if messy and n:
        dup = rng.choice(n, min(n, _at_least_one(RATES.fracture_duplicate, n)), replace=False)
        bad = rng.choice(n, min(n, _at_least_one(RATES.fracture_bad_date, n)), replace=False)
        tail_source = np.concatenate([dup, bad])
        tail_role = np.concatenate([np.full(len(dup), _ROLE["duplicate"]), np.full(len(bad), _ROLE["quarantined"])])
        tail_reason = np.concatenate([np.zeros(len(dup), np.int64), np.full(len(bad), R["invalid_date"])])
        order = rng.permutation(len(tail_source))
        source = np.concatenate([source, tail_source[order]])
        role = np.concatenate([role, tail_role[order]])
        reason = np.concatenate([reason, tail_reason[order]])
    day = text.iso_date(fractures["day"][source])
    day = text.replace_where(reason == R["invalid_date"], _invalid_day(day), day)
    return pa.table({
        "patient_id": patient_ids(pid[fractures["patient"][source]]),
        "fracture_date": day,
        "site": text.strings(fractures["site"][source]),
        "fragility": text.take(["false", "true"], fractures["fragility"][source].astype(np.int64)),
        **_role_columns(role, reason),
        "_patient": pa.array(pid[fractures["patient"][source]]),
    })
