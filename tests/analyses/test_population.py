"""The analyses' frames from a real build (Alembic warehouse, dbt build) of hand-written rows."""
from __future__ import annotations

import itertools

import duckdb
import pytest

from etl.analyses import population
from etl.build import build
from etl.warehouse import upgrade

pytestmark = pytest.mark.slow


def _lab(row, patient, code, value, unit, collected_at, comparator=None):
    return {"load_id": 3, "source_row": row, "patient_id": patient, "collected_at": collected_at, "code": code,
            "code_system": "LOINC", "loinc_code": code, "value_text": f"{comparator or ''}{value}",
            "value_num": value, "value_comparator": comparator, "unit": unit, "status": "F",
            "accession_id": f"A{row}", "is_tracked": True}


def _scan(row, patient, scan_date, t_score, manufacturer="Hologic", site="lumbar_spine_l1_l4"):
    return {"load_id": 4, "source_row": row, "patient_id": patient, "scan_date": scan_date, "site": site,
            "t_score": t_score, "z_score": -1.0, "bmd_g_cm2": 0.8, "manufacturer": manufacturer, "status": "F"}


class _Raw:
    """A migrated warehouse filled row by row, the way the loader would (as tests/dbt_project do)."""

    hashes = itertools.count(1)

    def __init__(self, path):
        self.path = path
        upgrade(path)
        with duckdb.connect(str(path)) as conn:
            conn.executemany("INSERT INTO identity.patient_map VALUES (?, ?, 1, TIMESTAMP '2026-01-01')",
                             [[f"p{i}", f"k{i}"] for i in range(1, 5)])

    def insert(self, table, rows):
        names = list(dict.fromkeys(itertools.chain.from_iterable(rows))) + ["source_file", "source_format", "row_hash"]
        values = [[row.get(c) for c in names[:-3]] + ["test.csv", "csv", next(self.hashes)] for row in rows]
        with duckdb.connect(str(self.path)) as conn:
            conn.executemany(f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' for _ in names)})",
                             values)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    raw = _Raw(tmp_path_factory.mktemp("analyses") / "osteoreg.duckdb")
    raw.insert("raw.patients", [
        {"load_id": 1, "source_row": 1, "patient_id": "p1", "sex": "F", "birth_date": "1950-07-01",
         "menopausal_status": "post"},
        {"load_id": 1, "source_row": 2, "patient_id": "p2", "sex": "M", "birth_date": "1950-01-01"},
        {"load_id": 1, "source_row": 3, "patient_id": "p3", "sex": "F", "birth_date": "1985-05-05",
         "menopausal_status": "pre"},
        {"load_id": 1, "source_row": 4, "patient_id": "p4", "sex": "F", "birth_date": "1948-05-05",
         "menopausal_status": "post"},
    ])
    raw.insert("raw.dxa_results", [
        _scan(1, "p1", "2022-03-10", -1.5),
        _scan(2, "p1", "2024-03-10", -2.7),                       # p1's latest: osteoporosis
        _scan(3, "p2", "2024-03-10", -2.7, manufacturer="Quixote, Zebedee MRN0002"),   # free text: a name
        _scan(4, "p3", "2024-03-10", -0.5, manufacturer="Lunar iDXA"),
        _scan(5, "p4", "2023-05-01", -1.2, manufacturer=" GE Lunar "),
        _scan(6, "p4", "2023-05-01", -1.4, manufacturer="Hologic", site="femoral_neck"),   # two makers
    ])
    raw.insert("raw.lab_results", [
        _lab(1, "p1", "2601-3", 0.80, "mmol/L", "2024-03-01 08:00:00"),
        _lab(2, "p1", "2601-3", 0.70, "mmol/L", "2024-03-12 08:00:00"),    # after the scan: not pre-scan
        _lab(3, "p1", "2731-8", 150.0, "pg/mL", "2024-03-05 08:00:00", comparator=">"),   # censored PTH
        _lab(4, "p2", "2601-3", 0.70, "mmol/L", "2024-03-09 08:00:00"),
        _lab(5, "p4", "2601-3", 0.90, "mmol/L", "2023-04-20 08:00:00"),
        _lab(6, "p4", "14635-7", 40.0, "nmol/L", "2023-04-20 08:00:00"),
    ])
    build(raw.path, exclude="resource_type:unit_test")
    return raw


def _frame(raw, loader):
    with duckdb.connect(str(raw.path), read_only=True) as conn:
        return loader(conn)


def test_shi_frame_is_postmenopausal_women_latest_scan_prescan_labs(built):
    frame = _frame(built, population.shi_frame).set_index("patient_key")
    assert sorted(frame.index) == ["k1", "k4"]                # no man, no premenopausal woman
    k1 = frame.loc["k1"]
    assert str(k1["scan_date"])[:10] == "2024-03-10" and bool(k1["osteoporosis"])
    assert k1["mg_mmol_l"] == pytest.approx(0.80)              # the pre-scan value, not the nearer later one
    assert bool(k1["pth_ng_l_censored"]) and k1["pth_ng_l"] != k1["pth_ng_l"]   # censored: flagged, no value
    assert not bool(k1["mg_mmol_l_censored"])
    assert k1["manufacturer"] == "hologic"            # the vocabulary's value, not the text as sent
    assert frame.loc["k4", "manufacturer"] is None or frame.loc["k4", "manufacturer"] != frame.loc["k4", "manufacturer"]
    assert frame.loc["k4", "vitd_nmol_l"] == pytest.approx(40.0)


def test_ali_frame_and_prevalence_counts(built):
    ali = _frame(built, population.ali_frame).set_index("patient_key")
    assert sorted(ali.index) == ["k1", "k2", "k4"]            # the woman of 38 (pre) has no WHO criteria
    assert ali.loc["k1", "mg_mmol_l"] == pytest.approx(0.70)   # the marts' two-sided nearest match
    assert ali.loc["k2", "manufacturer"] == "other"              # a text the vocabulary does not list
    counts = _frame(built, population.prevalence_counts)
    rows = {(r.year, r.sex, r.age_band): (r.n_assessed, r.n_deficient) for r in counts.itertuples()}
    assert rows == {(2024, "F", "70-79"): (1, 1), (2024, "M", "70-79"): (1, 1), (2023, "F", "70-79"): (1, 0)}
    with duckdb.connect(str(built.path), read_only=True) as conn:
        assert population.missing_marts(conn, "shi") == []
        assert str(population.last_scan_date(conn)) == "2024-03-10"


def test_the_manufacturer_text_as_sent_reaches_no_mart_column(built):
    with duckdb.connect(str(built.path), read_only=True) as conn:
        assert conn.execute("SELECT count(*) FROM raw.dxa_results WHERE manufacturer LIKE 'Quixote%'").fetchall() \
            == [(1,)]
        assessed = dict(conn.execute("SELECT patient_key, manufacturer FROM marts.fct_bmd_assessment").fetchall())
        marts = [t for t, in conn.execute("SELECT table_name FROM information_schema.tables "
                                          "WHERE table_schema = 'marts'").fetchall()]
        text = repr([conn.execute(f'SELECT * FROM marts."{t}"').fetchall() for t in marts]).lower()
    assert assessed == {"k1": "hologic", "k2": "other", "k3": "ge_lunar", "k4": None}
    assert "quixote" not in text and "zebedee" not in text and "mrn0002" not in text
