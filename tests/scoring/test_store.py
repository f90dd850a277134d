"""Re-runs on hand-written marts (plain SQL, no dbt): only what changed is written; unchanged
scores and an unchanged triage table keep their `scored_at`; the write settings are restored."""
from __future__ import annotations

import duckdb
import pytest

from etl import warehouse
from etl.scoring import store
from etl.scoring.runner import import_model, score

from .conftest import rows
from .test_small_marts import OST_ROWS, labs_for
from .test_triage import PARAMETERS


def _ost(path) -> dict:
    return {a: (s, t) for a, s, t in rows(
        path, "SELECT assessment_id, score, scored_at FROM scoring.risk_scores WHERE model_name = 'ost'")}


def test_a_rerun_rewrites_only_changed_rows_and_drops_removed_assessments(make_small_marts):
    path = make_small_marts(OST_ROWS[:4], labs_for(OST_ROWS[:4]))
    score(path)
    first = _ost(path)
    assert score(path).new_scores == 0 and _ost(path) == first     # nothing changed: nothing rewritten
    with warehouse.session(path) as conn:
        conn.execute("UPDATE marts.fct_bmd_assessment SET weight_kg = 60.0 WHERE assessment_id = 'A1'").fetchall()
        conn.execute("DELETE FROM marts.fct_prescan_labs WHERE assessment_id = 'A2'").fetchall()
        conn.execute("DELETE FROM marts.fct_bmd_assessment WHERE assessment_id = 'A2'").fetchall()
        conn.execute("INSERT INTO marts.fct_bmd_assessment VALUES ('A9', 'K9', DATE '2024-02-01', 75, 'F', 'post', "
                     "60.0, 25.0, 'normal', false, true)").fetchall()
    again = score(path).model("ost")
    after = _ost(path)
    assert again.new_scores == 2                                   # A1 (changed) and A9 (new)
    assert sorted(after) == ["A1", "A3", "A4", "A9"]               # A2's assessment is gone, so is its score
    assert after["A3"] == first["A3"] and after["A4"] == first["A4"]   # untouched, scored_at included
    assert after["A1"][0] == -2.0 and after["A1"][1] > first["A1"][1]  # 0.2 x (60 - 70), rescored later
    assert after["A9"][0] == -3.0                                      # 0.2 x (60 - 75)


def _add_panel(path, mg_first: float) -> None:
    """A hand-written fct_latest_lab_panel (the columns triage_inputs.sql reads): two candidates
    and one patient who is not a candidate."""
    days = ", ".join(f"3 AS {name}_days_before_index" for name in ("mg", "beta_ctx", "vitd", "p1np"))
    with warehouse.session(path) as conn:
        conn.execute("DROP TABLE IF EXISTS marts.fct_latest_lab_panel").fetchall()
        conn.execute(f"""
            CREATE TABLE marts.fct_latest_lab_panel AS
            SELECT patient_key, DATE '2024-05-01' AS index_date, age_at_index, 'F' AS sex, 'post' AS menopausal_status,
                   mg_mmol_l, mg_mmol_l <= 0.845 AS mg_below_op_cutoff, 1.1 AS phosphate_mmol_l,
                   2.3 AS calcium_mmol_l, 60.0 AS vitd_nmol_l, 40.0 AS pth_ng_l, 2.0 AS crp_mg_l,
                   beta_ctx_ng_ml, 50.0 AS p1np_ng_ml, {days}, candidate AS is_dxa_referral_candidate
            FROM (VALUES ('N1', 72, {float(mg_first)}, 0.6, true), ('N2', 66, 0.90, 0.3, true),
                         ('N3', 70, 0.70, 0.5, false)) t(patient_key, age_at_index, mg_mmol_l, beta_ctx_ng_ml, candidate)
        """).fetchall()


def test_the_triage_table_is_rewritten_only_when_its_rows_change(make_small_marts, tmp_path):
    path = make_small_marts(OST_ROWS[:3], labs_for(OST_ROWS[:3]))
    _add_panel(path, mg_first=0.70)
    model = store.StoredModel(name="local_lasso", version=store.version_of(PARAMETERS),
                              parameters=store.canonical(PARAMETERS), metrics=None, card=None, fingerprint=None,
                              origin="imported")
    import_model(path, store.write_document(model, tmp_path / "model.json"))
    query = "SELECT patient_key, referral_rank, score, scored_at FROM scoring.dxa_referral_candidates ORDER BY 1"
    assert score(path).triage_candidates == 2
    first = rows(path, query)
    assert [r[0] for r in first] == ["N1", "N2"]                   # N3 is no candidate
    assert [r[1] for r in first] == [1, 2]                         # N1: older, lower Mg, higher beta-CTx
    assert score(path).triage_candidates == 2 and rows(path, query) == first
    _add_panel(path, mg_first=1.20)                                # N1's magnesium is now high
    assert score(path).triage_candidates == 2
    changed = rows(path, query)
    # -1 + 0.05 x 72 - 4.0 x 1.20 + 0.6 = -1.6 (N2: -1 + 3.3 - 3.6 + 0.3 = -1.0 ranks first now)
    assert [(r[0], r[1]) for r in changed] == [("N1", 2), ("N2", 1)]
    assert changed[0][2] == pytest.approx(-1.6, abs=1e-9)
    assert all(r[3] > first[0][3] for r in changed)                 # rewritten, with a new scored_at


def test_bulk_writes_sets_and_restores_the_instance_settings(monkeypatch):
    monkeypatch.setenv("OSTEOREG_MEMORY_LIMIT", "2GB")         # what etl.warehouse.connect sets
    conn = duckdb.connect()
    conn.execute("SET memory_limit = '2GB'").fetchall()
    conn.execute("SET disabled_compression_methods = 'bitpacking'").fetchall()
    before = conn.execute("SELECT current_setting('memory_limit'), current_setting('preserve_insertion_order'), "
                          "current_setting('disabled_compression_methods')").fetchall()
    with store.bulk_writes(conn):
        inside = conn.execute("SELECT current_setting('memory_limit'), current_setting('preserve_insertion_order'), "
                              "current_setting('disabled_compression_methods')").fetchall()
    after = conn.execute("SELECT current_setting('memory_limit'), current_setting('preserve_insertion_order'), "
                         "current_setting('disabled_compression_methods')").fetchall()
    assert inside == [("768.0 MiB", False, "BitPacking,DICT_FSST")]
    assert after == before
    conn.execute("SET memory_limit = '512MB'").fetchall()          # a lower limit is kept
    with store.bulk_writes(conn):
        assert conn.execute("SELECT current_setting('memory_limit')").fetchall() == [("488.2 MiB",)]
