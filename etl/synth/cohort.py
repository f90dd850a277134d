"""The synthetic cohort: patients, lab collections, DXA scans and fractures with a known truth.

Patients are drawn in blocks of `BLOCK_SIZE`, each from its own random streams
(`[seed, block, 0]` for the cohort, `[seed, block, 1]` for the messiness), so a million patients
need no more memory than one block and the same seed always gives the same rows. A block comes
back as canonical text tables (the contract's flat columns, as a lab would write them) plus
generator columns starting with `_` (`_role`, `_reason`, `_analyte`, ...) that writers of other
formats use and the flat writer leaves out.

Resembles Shi et al. 2026 (496 postmenopausal women) and a 212-adult cross-sectional cohort:
mostly postmenopausal women aged 45-90, some younger women and men (so ISCD Z-score rules and
both sexes are exercised). Each scan has exactly one lab collection within 75 days; every other
collection is at least 120 days from every scan, so the nearest magnesium is clearly nearest.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from ..errors import UsageError
from . import conventions, messiness, text
from .manifest import Tally
from .people import ETHNICITY, ETHNICITY_P, MENOPAUSAL, patient_ids
from .conventions import A, ANALYTES
from .truth import MG_DEFICIENT_BELOW, MODEL, OSTEOPOROSIS_T, TrueModel, auroc, iscd_category, who_category

BLOCK_SIZE = 20_000
MAX_BLOCK_SIZE = 1_000_000   # keeps a block's collection numbers below its bad-row accession range
DEFAULT_SEED = 20261122

HEADERS = {
    "patients": ["patient_id", "sex", "birth_date", "menopausal_status", "ethnicity"],
    "labs": ["patient_id", "collected_at", "code", "code_system", "name", "value", "unit", "reference_range",
             "abnormal_flag", "status", "accession_id"],
    "dxa": ["patient_id", "scan_date", "site", "side", "t_score", "z_score", "bmd_g_cm2", "manufacturer",
            "height_cm", "weight_kg"],
    "fractures": ["patient_id", "fracture_date", "site", "fragility"],
}

# First scans fall in these years; second scans 2-3 years later; the last collections by mid 2026.
_FIRST_SCAN_FROM = text.day_number("2015-01-01")
_FIRST_SCAN_TO = text.day_number("2022-12-31")
MATCH_DAYS = 75             # a scan's own collection is at most this far from it
UNMATCHED_MIN_DAYS = 120    # every other collection is at least this far from every scan

FRAGILITY_SITES = ["hip", "vertebra", "wrist", "proximal_humerus", "pelvis"]
TRAUMA_SITES = ["ankle", "tibia", "hand"]


@dataclass
class CohortBlock:
    """One block of patients as canonical text tables (file row order) and its truth."""

    index: int
    first_patient: int
    n_patients: int
    patients: pa.Table
    labs: pa.Table
    dxa: pa.Table
    fractures: pa.Table
    truth: pa.Table            # one row per assessment (patient x scan date)


@dataclass
class Cohort:
    """A whole cohort in memory (fine up to ~50k patients; larger ones go block by block)."""

    n_patients: int
    seed: int
    messy: bool
    patients: pa.Table
    labs: pa.Table
    dxa: pa.Table
    fractures: pa.Table
    truth: pa.Table
    model: TrueModel = field(default_factory=lambda: MODEL)

    @property
    def auroc(self) -> float:
        """AUROC of the true probability against the drawn outcome: the best any score can do."""
        return auroc(self.truth["p_true"].to_numpy(), self.truth["outcome"].to_numpy())

    @property
    def prevalence(self) -> float:
        return float(np.mean(self.truth["outcome"].to_numpy()))

    def expected(self) -> dict:
        """What a correct ingest and build make of these rows (as in the manifest's `expected`)."""

        tally = Tally()
        tally.add_block(self.patients, self.labs, self.dxa, self.fractures, self.truth)
        return tally.expected()

    def canonical(self, kind: str) -> pa.Table:
        """The rows of one kind with only the contract's columns, as the flat writer writes them."""
        return getattr(self, kind).select(HEADERS[kind])


def block_bounds(n_patients: int, block_size: int = BLOCK_SIZE) -> list[tuple[int, int, int]]:
    """(block index, first patient, patients in block) for a cohort of `n_patients`."""
    return [(b, start, min(block_size, n_patients - start))
            for b, start in enumerate(range(0, n_patients, block_size))]


def iter_blocks(n_patients: int, seed: int = DEFAULT_SEED, messy: bool = True,
                block_size: int = BLOCK_SIZE) -> Iterator[CohortBlock]:
    """The cohort block by block: each block is drawn only when the caller asks for it."""
    if n_patients < 1:
        raise UsageError(f"A synthetic cohort needs at least one patient, not {n_patients}.")
    if not 1 <= block_size <= MAX_BLOCK_SIZE:
        raise UsageError(f"The block size must be between 1 and {MAX_BLOCK_SIZE:,} patients, not {block_size}.")
    for index, start, count in block_bounds(n_patients, block_size):
        yield draw_block(seed, index, start, count, messy)


def generate(n_patients: int, seed: int = DEFAULT_SEED, messy: bool = True) -> Cohort:
    """The whole cohort in memory (the same rows `write_flat` writes for the same arguments)."""
    blocks = list(iter_blocks(n_patients, seed, messy))
    glue = lambda kind: pa.concat_tables([getattr(b, kind) for b in blocks])  # noqa: E731
    return Cohort(n_patients, seed, messy, glue("patients"), glue("labs"), glue("dxa"), glue("fractures"),
                  glue("truth"))


# --------------------------------------------------------------------------------------------
# One block
# --------------------------------------------------------------------------------------------

def draw_block(seed: int, index: int, start: int, n: int, messy: bool) -> CohortBlock:
    rng = np.random.default_rng([seed, index, 0])
    mess_rng = np.random.default_rng([seed, index, 1])
    conv = conventions.table()
    people = _draw_patients(rng, n, messy)
    scans = _draw_scans(rng, people)
    colls = _draw_collections(rng, people, scans)
    results = _draw_results(rng, conv, people, colls, messy)

    # The truth model on what the registry will read: the matched results as reported (rounded,
    # converted back to SI), the whole-year age and the BMI from the written height and weight.
    matched = colls["assessment"][results["coll"]]
    mg_rows = (results["analyte"] == A["magnesium"]) & (matched >= 0)
    bctx_rows = (results["analyte"] == A["beta_ctx"]) & (matched >= 0)
    n_a = len(scans["day"])
    mg = np.full(n_a, np.nan)
    bctx = np.full(n_a, np.nan)
    mg_days = np.zeros(n_a, dtype=np.int64)
    mg[matched[mg_rows]] = results["si"][mg_rows]
    bctx[matched[bctx_rows]] = results["si"][bctx_rows]
    mg_days[matched[mg_rows]] = colls["day"][results["coll"][mg_rows]] - scans["day"][matched[mg_rows]]
    age = text.whole_years(people["birth"][scans["patient"]], scans["day"])
    height_cm = scans["height_k"] / 10.0
    bmi = (scans["weight_k"] / 10.0) / ((height_cm / 100.0) * (height_cm / 100.0))
    p_true = MODEL.probability(mg, age, bmi, bctx)
    outcome = rng.random(n_a) < p_true

    dxa_rows, t_min, z_min, t_site = _draw_dxa(rng, people, scans, age, outcome)
    fractures, fragility_before = _draw_fractures(rng, people, scans, outcome)

    pid = start + np.arange(n)
    patients_t = messiness.patients_table(mess_rng, pid, people, messy)
    labs_t = messiness.labs_table(mess_rng, index, pid, people, colls, results, conv, messy)
    dxa_t = messiness.dxa_table(mess_rng, pid, people, scans, dxa_rows, messy)
    fractures_t = messiness.fractures_table(mess_rng, pid, fractures, messy)

    who = who_category(t_min / 10.0, fragility_before)
    postmenopausal = people["menopausal"][scans["patient"]] == MENOPAUSAL.index("post")
    truth = pa.table({
        "patient_id": patient_ids(pid[scans["patient"]]),
        "scan_date": pa.array(scans["day"].astype(np.int32), type=pa.date32()),
        "sex": text.take(["M", "F"], people["female"][scans["patient"]].astype(np.int64)),
        "menopausal_status": text.take(MENOPAUSAL, people["menopausal"][scans["patient"]]),
        "age_at_scan": pa.array(age),
        "height_cm": pa.array(height_cm),
        "weight_kg": pa.array(scans["weight_k"] / 10.0),
        "bmi": pa.array(bmi),
        "mg_mmol_l": pa.array(mg),
        "mg_days_from_scan": pa.array(mg_days),
        "beta_ctx_ng_ml": pa.array(bctx),
        "p_true": pa.array(p_true),
        "outcome": pa.array(outcome),
        "min_t_score": pa.array(t_min / 10.0),
        "min_t_score_site": text.take(["lumbar_spine_l1_l4", "femoral_neck", "total_hip"], t_site),
        "min_z_score": pa.array(z_min / 10.0),
        "fragility_fracture_before": pa.array(fragility_before),
        "who_category": pa.array(who),
        "iscd_category": pa.array(iscd_category(who, age, postmenopausal, z_min / 10.0)),
    })
    return CohortBlock(index, start, n, patients_t, labs_t, dxa_t, fractures_t, truth)


def _draw_patients(rng, n: int, messy: bool) -> dict:
    female = rng.random(n) < 0.85
    young = female & (rng.random(n) < 0.12)
    age0 = np.where(female,
                    np.where(young, rng.uniform(28, 50, n), np.clip(rng.normal(66, 9.5, n), 45, 90)),
                    np.clip(rng.normal(64, 12, n), 35, 90))
    first_scan = rng.integers(_FIRST_SCAN_FROM, _FIRST_SCAN_TO + 1, n)
    birth = first_scan - np.floor(age0 * 365.2425).astype(np.int64)
    two_scans = rng.random(n) < 0.30
    second_scan = first_scan + rng.integers(730, 1096, n)
    # Menopausal status as recorded at registration: post from 55, a mix from 45, pre below.
    u = rng.random(n)
    p_post = np.clip((age0 - 45) / 10, 0, 1)
    status = np.where(u < p_post, 3, np.where(u < p_post + 0.3, 2, 1))
    menopausal = np.where(female, np.where(age0 >= 55, 3, np.where(age0 >= 45, status, 1)), 0)
    hospital = rng.choice(len(conventions.HOSPITALS), n, p=[h.share for h in conventions.HOSPITALS])
    if not messy:
        hospital = np.zeros(n, dtype=np.int64)
    ethnicity = rng.choice(len(ETHNICITY), n, p=ETHNICITY_P)
    height = np.where(female, rng.normal(162, 6.5, n), rng.normal(175.5, 7.0, n))
    bmi = np.clip(rng.normal(26, 4, n), 16, 48)
    weight = bmi * (height / 100) ** 2
    return {
        "n": n, "female": female, "birth": birth, "first_scan": first_scan, "two_scans": two_scans,
        "second_scan": second_scan, "menopausal": menopausal, "hospital": hospital, "ethnicity": ethnicity,
        "height_k": np.rint(height * 10).astype(np.int64), "weight_k": np.rint(weight * 10).astype(np.int64),
        "mg_mean": rng.normal(0.85, 0.075, n),
    }


def _draw_scans(rng, people: dict) -> dict:
    count = 1 + people["two_scans"].astype(np.int64)
    patient = np.repeat(np.arange(people["n"]), count)
    order = np.arange(len(patient)) - np.repeat(np.cumsum(count) - count, count)
    second = order == 1
    n_a = len(patient)
    return {
        "patient": patient,
        "second": second,
        "day": np.where(second, people["second_scan"][patient], people["first_scan"][patient]),
        "height_k": people["height_k"][patient] - second * rng.integers(0, 11, n_a),
        "weight_k": people["weight_k"][patient] + second * np.rint(rng.normal(0, 20, n_a)).astype(np.int64),
    }


def _draw_collections(rng, people: dict, scans: dict) -> dict:
    n, n_a = people["n"], len(scans["day"])
    matched_day = scans["day"] + np.clip(np.rint(rng.normal(0, 25, n_a)), -MATCH_DAYS, MATCH_DAYS).astype(np.int64)
    extra = rng.choice(3, n, p=[0.30, 0.45, 0.25])
    coin = rng.random(n) < 0.5
    before = (extra == 2) | ((extra == 1) & coin)
    after = (extra == 2) | ((extra == 1) & ~coin)
    last_scan = np.where(people["two_scans"], people["second_scan"], people["first_scan"])
    before_day = people["first_scan"] - rng.integers(UNMATCHED_MIN_DAYS, 401, n)
    after_day = last_scan + rng.integers(UNMATCHED_MIN_DAYS, 181, n)
    everyone = np.arange(n)
    patient = np.concatenate([scans["patient"], everyone[before], everyone[after]])
    day = np.concatenate([matched_day, before_day[before], after_day[after]])
    assessment = np.concatenate([np.arange(n_a), np.full(before.sum() + after.sum(), -1)])
    order = np.lexsort((day, patient))
    patient, day, assessment = patient[order], day[order], assessment[order]
    n_c = len(day)
    return {
        "patient": patient, "day": day, "assessment": assessment,
        "minute": rng.integers(7 * 60, 13 * 60, n_c),
        "hospital": people["hospital"][patient],
    }


def _draw_results(rng, conv, people: dict, colls: dict, messy: bool) -> dict:
    """SI values per collection and analyte, then what each hospital reports (digits, unit)."""
    n_c = len(colls["day"])
    values = np.empty((n_c, len(ANALYTES)))
    albumin = np.clip(rng.normal(42, 4, n_c), 22, 55)
    vitamin_d = np.clip(rng.gamma(5.76, 10.42, n_c), 4, 300)
    beta_ctx = np.clip(rng.gamma(5.06, 0.0889, n_c), 0.03, 2.5)
    values[:, A["magnesium"]] = np.clip(people["mg_mean"][colls["patient"]] + rng.normal(0, 0.045, n_c), 0.35, 1.6)
    values[:, A["calcium"]] = np.clip(2.35 + 0.012 * (albumin - 42) + rng.normal(0, 0.11, n_c), 1.5, 3.3)
    values[:, A["albumin"]] = albumin
    values[:, A["phosphate"]] = np.clip(rng.normal(1.1, 0.18, n_c), 0.3, 2.2)
    values[:, A["vitamin_d_25oh"]] = vitamin_d
    values[:, A["pth"]] = np.clip(np.exp(np.log(46) + 0.38 * rng.standard_normal(n_c) - 0.004 * (vitamin_d - 60)),
                                  5, 600)
    values[:, A["crp"]] = np.clip(rng.lognormal(np.log(2.0), 1.0, n_c), 0.05, 300)
    values[:, A["beta_ctx"]] = beta_ctx
    values[:, A["p1np"]] = np.clip(rng.gamma(8, 6.25, n_c) * (beta_ctx / 0.45) ** 0.4, 5, 300)

    present_share = np.array([1, 1, 0.92, 0.95, 0.95, 0.90, 0.90, 0.85, 0.90])
    present = rng.random((n_c, len(ANALYTES))) < present_share
    present[colls["assessment"] >= 0, A["beta_ctx"]] = True     # the model needs the matched beta-CTx
    coll, analyte = np.nonzero(present)
    hospital = colls["hospital"][coll]
    factor = conv.factor[hospital, analyte]
    decimals = conv.decimals[hospital, analyte]
    scale = 10.0 ** decimals
    si = values[coll, analyte]
    k = np.rint(si / factor * scale).astype(np.int64)

    # Keep reported magnesium off the model's cut-off and the deficiency limit by a hair, so no
    # rounding of the unit conversion can put a value on the other side of either.
    is_mg = analyte == A["magnesium"]
    for limit in (MODEL.mg_cutoff_mmol_l, MG_DEFICIENT_BELOW):
        near = is_mg & (np.abs(k / scale * factor - limit) < 1e-6)
        k[near] += 1

    comparator = np.zeros(len(k), dtype=np.int8)
    if messy:
        for name, (low, high) in conventions.COMPARATOR_LIMITS_SI.items():
            rows = analyte == A[name]
            if low is not None:
                below = rows & (si < low)
                comparator[below] = 1
                k[below] = np.rint(low / factor[below] * scale[below]).astype(np.int64)
            above = rows & (si > high)
            comparator[above] = 2
            k[above] = np.rint(high / factor[above] * scale[above]).astype(np.int64)
    return {"coll": coll, "analyte": analyte, "hospital": hospital, "decimals": decimals, "factor": factor,
            "k": k, "comparator": comparator, "si": k / scale * factor}


def _draw_dxa(rng, people: dict, scans: dict, age: np.ndarray, outcome: np.ndarray):
    """T-scores (in tenths) whose lowest of spine / neck / hip is <= -2.5 exactly when outcome."""
    n_a = len(outcome)
    osteoporotic_tenths = int(round(OSTEOPOROSIS_T * 10))
    low = np.rint((OSTEOPOROSIS_T - rng.exponential(0.6, n_a)) * 10)
    other = rng.normal(-1.1, 0.9, n_a)
    # Reflect draws that would round to osteoporosis back above the line (outcome 0 stays > -2.5).
    edge = OSTEOPOROSIS_T + 0.05
    other = np.where(other < edge, 2 * edge - other, other)
    t_min = np.where(outcome, np.clip(low, -50, osteoporotic_tenths),
                     np.clip(np.rint(other * 10), osteoporotic_tenths + 1, 30)).astype(np.int64)
    lowest_site = rng.choice(3, n_a, p=[0.45, 0.30, 0.25])
    offsets = np.rint(rng.exponential(6.0, (n_a, 3))).astype(np.int64)
    offsets[np.arange(n_a), lowest_site] = 0
    site_t = t_min[:, None] + offsets                          # spine, neck, hip (lower side)
    other_side = site_t[:, 1:] + np.rint(rng.exponential(1.5, (n_a, 2))).astype(np.int64)
    left_lower = rng.random(n_a) < 0.5
    one_side = rng.random(n_a) < 0.10
    radius = rng.random(n_a) < 0.10
    radius_t = np.clip(t_min + np.rint(rng.normal(5, 8, n_a)).astype(np.int64), -60, 40)
    # Z-score: the T-score plus an age shift that is the same at every site of a scan, so the
    # lowest Z is at the site of the lowest T whichever way a registry reads it.
    shift = np.rint(np.maximum(age - 30, 0) * 0.22 + rng.normal(0, 1.0, n_a)).astype(np.int64)
    shift = np.maximum(shift, 0)

    slots = []                                               # (assessment, slot, t) arrays
    everyone = np.ones(n_a, dtype=bool)
    slots.append((everyone, 0, site_t[:, 0]))
    for j, (left_slot, right_slot) in enumerate(((1, 2), (3, 4))):
        lower, higher = site_t[:, j + 1], other_side[:, j]
        # both hip sides as a rule; a one-sided scan keeps only its lower side
        slots.append((~one_side | left_lower, left_slot, np.where(left_lower, lower, higher)))
        slots.append((~one_side | ~left_lower, right_slot, np.where(left_lower, higher, lower)))
    slots.append((radius, 5, radius_t))
    rows = np.concatenate([np.nonzero(mask)[0] for mask, _, _ in slots])
    slot = np.concatenate([np.full(mask.sum(), s) for mask, s, _ in slots])
    t = np.concatenate([values[mask] for mask, _, values in slots])
    order = np.lexsort((slot, rows))
    rows, slot, t = rows[order], slot[order], t[order]
    dxa_rows = {"assessment": rows, "slot": slot, "t": t, "z": t + shift[rows]}
    return dxa_rows, t_min, t_min + shift, lowest_site


def _draw_fractures(rng, people: dict, scans: dict, outcome: np.ndarray):
    n = people["n"]
    any_osteoporotic = np.zeros(n, dtype=bool)
    np.logical_or.at(any_osteoporotic, scans["patient"], outcome)
    fragile = rng.random(n) < np.where(any_osteoporotic, 0.25, 0.05)
    between = people["two_scans"] & (rng.random(n) < 0.3)
    gap = people["second_scan"] - people["first_scan"]
    before_first = people["first_scan"] - np.where(rng.random(n) < 0.05, 0, rng.integers(1, 1801, n))
    between_day = people["second_scan"] - rng.integers(1, gap)
    fragile_day = np.where(between, between_day, before_first)
    last_scan = np.where(people["two_scans"], people["second_scan"], people["first_scan"])
    late = ~fragile & (rng.random(n) < 0.02)                 # a fragility fracture after every scan
    late_day = last_scan + rng.integers(1, 151, n)
    trauma = rng.random(n) < 0.03
    trauma_day = people["first_scan"] - rng.integers(0, 3001, n)
    fragile_site = rng.choice(len(FRAGILITY_SITES), n, p=[0.3, 0.3, 0.25, 0.1, 0.05])
    trauma_site = rng.choice(len(TRAUMA_SITES), n)

    fragility_day = np.where(fragile, fragile_day, np.where(late, late_day, np.iinfo(np.int64).max))
    fragility_before = fragility_day[scans["patient"]] <= scans["day"]

    everyone = np.arange(n)
    first = fragile | late
    patient = np.concatenate([everyone[first], everyone[trauma]])
    day = np.concatenate([fragility_day[first], trauma_day[trauma]])
    site = np.concatenate([np.array(FRAGILITY_SITES)[fragile_site[first]],
                           np.array(TRAUMA_SITES)[trauma_site[trauma]]])
    fragility = np.concatenate([np.ones(first.sum(), dtype=bool), np.zeros(trauma.sum(), dtype=bool)])
    order = np.lexsort((day, patient))
    fractures = {"patient": patient[order], "day": day[order], "site": site[order], "fragility": fragility[order]}
    return fractures, fragility_before
