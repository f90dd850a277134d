"""The same synthetic facts as CSV, as HL7 v2 (+ CSV for what HL7 does not carry), as Bulk-FHIR
NDJSON and as FHIR transaction Bundles give the same marts, and those marts match the truth."""
from __future__ import annotations

import math
from pathlib import Path

import duckdb
import pyarrow.csv as pacsv
import pytest

from etl.ingest.loader import ingest_paths
from etl.synth import cohort, fhir, hl7v2
from etl.synth.mixed import write_mixed

from .conftest import build_in_subprocess

pytestmark = pytest.mark.slow

KINDS = ("patients", "labs", "dxa", "fractures")
# Columns that name a delivery, not a fact (they differ by format by design).
_DELIVERY = {"lab_result_id", "load_id", "source_row", "result_id", "patient_key", "assessment_id"}
# The scanner's manufacturer comes only with the flat DXA export: the synthetic HL7 feed carries
# no DXA, and its FHIR Observations name no device.
_DELIVERY |= {"manufacturer"}
MARTS = ("fct_bmd_assessment", "fct_deficiency_flags", "fct_lab_result", "dim_patient")


def _csv(table, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pacsv.write_csv(table, path)
    return path


def _marts(warehouse: Path) -> dict[str, tuple[list[str], list[tuple]]]:
    """Each mart keyed by the patient (as identity resolved the source references), delivery
    columns left out, rows sorted."""
    found = {}
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        for mart in MARTS:
            described = [r[0] for r in conn.execute(f"DESCRIBE marts.{mart}").fetchall()]
            columns = [c for c in described if c not in _DELIVERY]
            # an assessment's flags are keyed by its scan date (the assessment id is pseudonymous)
            scan = ("scan_date" not in described and "assessment_id" in described)
            rows = conn.execute(f"""
                SELECT m.patient_id, {', '.join('t.' + c for c in columns)}{', a.scan_date' if scan else ''}
                FROM marts.{mart} AS t
                JOIN (SELECT DISTINCT r.person_id AS patient_id, k.patient_key
                      FROM identity.patient_map AS k JOIN identity.patient_references AS r USING (patient_id)) AS m
                  USING (patient_key)
                {'JOIN marts.fct_bmd_assessment AS a USING (assessment_id)' if scan else ''}
                ORDER BY ALL""").fetchall()
            columns += ["scan_date"] if scan else []
            found[mart] = (columns, rows)
    return found


@pytest.fixture(scope="module")
def variants(tmp_path_factory):
    root = tmp_path_factory.mktemp("formats")
    mp = pytest.MonkeyPatch()
    mp.setenv("OSTEOREG_SECRET", "equivalence-secret-of-at-least-32-characters")
    facts = cohort.generate(160, seed=20261122, messy=True)
    inputs = {
        "csv": [_csv(facts.canonical(k), root / "csv" / f"{k}.csv") for k in KINDS],
        # HL7 first, then the CSVs: PID carries no menopausal status, so the patients export is
        # the later (current) delivery of each patient's demographics.
        "hl7": hl7v2.write(facts, root / "hl7" / "feed", results_per_file=1500)
        + [_csv(facts.canonical(k), root / "hl7" / f"{k}.csv") for k in ("patients", "dxa", "fractures")],
        "fhir_ndjson": fhir.write_ndjson(facts, root / "ndjson"),
        "fhir_bundles": fhir.write_bundles(facts, root / "bundles", patients_per_bundle=40),
        "mixed": write_mixed(root / "mixed", 160, seed=20261122, messy=True),
    }
    built = {}
    for name, paths in inputs.items():
        warehouse = root / name / "wh" / "osteoreg.duckdb"
        report = ingest_paths(warehouse, paths)
        assert not report.failed, [(f.path.name, f.message) for f in report.failed]
        build_in_subprocess(warehouse)
        built[name] = {"report": report, "marts": _marts(warehouse)}
    mp.undo()
    return facts, built


def test_the_synthetic_cohort_exercises_every_status_and_duplicates(variants):
    facts, _ = variants
    statuses = set(facts.labs.column("status").to_pylist())
    roles = set(facts.labs.column("_role").to_pylist())
    assert {"F", "C", "P", "D", "X"} <= statuses
    assert {"correction", "finalised", "pending", "deletion", "cancelled", "duplicate", "quarantined"} <= roles


@pytest.mark.parametrize("variant", ["hl7", "fhir_ndjson", "fhir_bundles", "mixed"])
@pytest.mark.parametrize("mart", MARTS)
def test_every_format_gives_the_marts_of_the_csv_export(variants, variant, mart):
    _, built = variants
    columns, expected = built["csv"]["marts"][mart]
    got_columns, got = built[variant]["marts"][mart]
    assert got_columns == columns
    assert len(got) == len(expected) > 0
    assert got == expected


def test_the_formats_read_what_they_were_given(variants):
    _, built = variants
    formats = {name: {f.format for f in v["report"].files} for name, v in built.items()}
    assert formats == {"csv": {"csv"}, "hl7": {"hl7v2", "csv"}, "fhir_ndjson": {"fhir_ndjson"},
                       "fhir_bundles": {"fhir_json"}, "mixed": {"csv", "tsv", "parquet", "hl7v2", "fhir_ndjson"}}
    for name, v in built.items():
        for f in v["report"].files:
            assert f.rows_read == f.rows_loaded + f.rows_quarantined + f.rows_duplicate, (name, f.path.name)
        assert sum(f.rows_duplicate for f in v["report"].files) > 0, name


def test_fhir_marts_match_the_generators_truth(variants):
    facts, built = variants
    columns, rows = built["fhir_ndjson"]["marts"]["fct_bmd_assessment"]
    assessment = {(r[0], r[1 + columns.index("scan_date")]): r for r in rows}
    _, flag_rows = built["fhir_ndjson"]["marts"]["fct_deficiency_flags"]
    flag_columns = built["fhir_ndjson"]["marts"]["fct_deficiency_flags"][0]
    magnesium = {(r[0], r[1 + flag_columns.index("scan_date")]): r[1 + flag_columns.index("mg_mmol_l")]
                 for r in flag_rows}
    truth = facts.truth.to_pylist()
    assert len(assessment) == len(truth) == len(magnesium)
    assert sum(not math.isnan(fact["mg_mmol_l"]) for fact in truth) > 100
    for fact in truth:
        row = assessment[(fact["patient_id"], fact["scan_date"])]
        assert row[1 + columns.index("who_category")] == fact["who_category"]
        assert row[1 + columns.index("iscd_category")] == fact["iscd_category"]
        assert math.isclose(row[1 + columns.index("min_t_score")], fact["min_t_score"], abs_tol=1e-9)
        if not math.isnan(fact["mg_mmol_l"]):
            assert math.isclose(magnesium[(fact["patient_id"], fact["scan_date"])], fact["mg_mmol_l"], abs_tol=1e-6)
