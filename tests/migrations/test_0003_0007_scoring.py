"""Migrations 0003 (scoring models) and 0007 (reasons, compact contributions, the triage table):
up and down."""
from __future__ import annotations

from etl import warehouse

from ..warehouses import rows


def test_migration_0003_upgrades_and_downgrades(tmp_path):
    path = tmp_path / "osteoreg.duckdb"
    assert warehouse.upgrade(path, "0003_scoring_models") == "0003_scoring_models"
    columns = "SELECT column_name FROM information_schema.columns WHERE table_schema = 'scoring' AND table_name = 'models'"
    assert {"is_current", "origin", "training_fingerprint", "model_card"} <= {r[0] for r in rows(path, columns)}
    assert warehouse.downgrade(path, "0002_quality_results") == "0002_quality_results"
    assert {r[0] for r in rows(path, columns)} == {"model_name", "model_version", "created_at", "parameters", "metrics"}
    assert rows(path, "SELECT count(*) FROM information_schema.tables WHERE table_name = 'current_risk_scores'") == [(0,)]
    assert warehouse.upgrade(path, "0003_scoring_models") == "0003_scoring_models"


def test_migration_0007_adds_reasons_compact_contributions_and_the_triage_table(tmp_path):
    path = tmp_path / "osteoreg.duckdb"
    warehouse.upgrade(path)
    columns = ("SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'scoring' "
               "AND table_name = 'risk_scores'")
    got = dict(rows(path, columns))
    assert {"not_scored_reason": "VARCHAR", "band_note": "VARCHAR", "contribution_values": "FLOAT[]",
            "inputs_hash": "UBIGINT"}.items() <= got.items()
    assert rows(path, "SELECT count(*) FROM scoring.dxa_referral_candidates") == [(0,)]
    warehouse.downgrade(path, "0003_scoring_models")
    assert "contribution_values" not in dict(rows(path, columns))
    assert rows(path, "SELECT count(*) FROM information_schema.tables WHERE table_name IN "
                      "('dxa_referral_candidates', 'risk_score_contributions')") == [(0,)]
