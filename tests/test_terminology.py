"""etl/terminology.py: the one reader of the dbt seeds, typed and cached (issue 11, item 4)."""
from __future__ import annotations

import ast
import shutil
from pathlib import Path

import pytest

from etl import terminology
from etl.errors import OsteoregError
from etl.ingest import seed_lookup
from etl.paths import PROJECT_ROOT, SEEDS_DIR


def test_fhir_and_hl7_statuses_are_one_map_from_the_seed():
    by_fhir = terminology.hl7_status_by_fhir()
    assert by_fhir == {"final": "F", "corrected": "C", "amended": "A", "preliminary": "P",
                       "entered-in-error": "D", "cancelled": "X", "registered": "I"}
    # the writer's direction is the same pairs reversed, so a FHIR round trip keeps the letter
    assert {fhir: letter for letter, fhir in terminology.fhir_status_by_hl7().items()} == by_fhir
    # every letter the seed marks from_fhir carries the seed's fhir_status
    seed = {s.status: s.fhir_status for s in terminology.result_statuses()}
    assert all(seed[letter] == fhir for fhir, letter in by_fhir.items())
    assert terminology.final_statuses() == {"F", "C", "A"}


def test_spellings_are_the_contracts():
    assert terminology.spellings("sex") == {"f": "F", "female": "F", "m": "M", "male": "M"}
    assert set(terminology.spellings("menopausal_status").values()) == {"pre", "peri", "post"}
    assert terminology.spellings("side") == {"left": "left", "l": "left", "right": "right", "r": "right"}
    fragility = terminology.spellings("fragility")
    assert {k for k, v in fragility.items() if v == "true"} == {"true", "t", "yes", "y", "1"}
    assert {k for k, v in fragility.items() if v == "false"} == {"false", "f", "no", "n", "0"}
    with pytest.raises(OsteoregError, match="no category 'ethnicity'"):
        terminology.spellings("ethnicity")


def test_accessors_are_typed_and_cannot_be_changed_by_a_caller():
    assert terminology.unit_factors()[("magnesium", "mg/dL")] == pytest.approx(0.41144)
    assert terminology.plausibility_limits()["magnesium"][1] == 10.0
    assert terminology.analyte_by_loinc()["2601-3"] == "magnesium"
    assert terminology.unit_by_key()[terminology.unit_key(" MG / dL ")] == "mg/dL"
    with pytest.raises(TypeError):
        terminology.analyte_by_loinc()["9999-9"] = "magnesium"  # type: ignore[index]
    assert terminology.analyte_by_loinc() is terminology.analyte_by_loinc()  # read once


def test_a_changed_copy_of_the_seeds_is_read_from_its_own_folder(tmp_path):
    seeds = tmp_path / "seeds"
    shutil.copytree(SEEDS_DIR, seeds)
    with (seeds / "category_spellings.csv").open("a", encoding="utf-8") as handle:
        handle.write("menopausal_status,postmenopausal,post,a registry's own spelling\n")
    assert terminology.spellings("menopausal_status", seeds)["postmenopausal"] == "post"
    assert "postmenopausal" not in terminology.spellings("menopausal_status")


def test_an_unreadable_seed_is_one_sentence(tmp_path):
    with pytest.raises(OsteoregError, match=r"The seed .*analytes\.csv cannot be read: No such file"):
        terminology.si_unit_by_analyte(tmp_path)


def test_ingestion_sql_reads_the_spellings_and_statuses_from_the_seed():
    side = seed_lookup.spelled("side", "x")
    assert side == "CASE x WHEN 'l' THEN 'left' WHEN 'left' THEN 'left' WHEN 'r' THEN 'right' WHEN 'right' THEN 'right' END"
    import duckdb

    con = duckdb.connect()
    got = con.execute(f"SELECT {seed_lookup.fhir_status_as_hl7('s')} FROM (VALUES ('amended'), ('bogus')) t(s)").fetchall()
    assert got == [("A",), ("bogus",)]
    fragile = con.execute(f"SELECT {seed_lookup.spelled_boolean('fragility', 'f')} FROM (VALUES ('yes'), ('0'), ('maybe')) t(f)")
    assert fragile.fetchall() == [(True,), (False,), (None,)]


def test_no_other_module_reads_a_seed_file():
    """Only etl/terminology.py opens the seeds folder; elsewhere SEEDS_DIR is at most a default
    argument handed on to it (etl/quality/seeds.py). The FHIR reader's SQL joins dxa_codes.csv by
    the path terminology gives (`seed_path`), inside DuckDB."""
    naming = []
    for path in sorted((PROJECT_ROOT / "etl").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
        module = str(path.relative_to(PROJECT_ROOT))
        if "SEEDS_DIR" in names:
            naming.append(module)
    assert naming == ["etl/paths.py", "etl/quality/seeds.py", "etl/terminology.py"]
    assert not (PROJECT_ROOT / "etl" / "synth" / "seeds.py").exists()


def test_dxa_manufacturers_are_a_closed_vocabulary_with_one_name_each(tmp_path):
    names = terminology.dxa_manufacturer_names()
    assert names == {"hologic": "Hologic", "ge_lunar": "GE Lunar", "norland": "Norland", "osteosys": "OsteoSys",
                     "dms": "DMS", "swissray": "Swissray", "medilink": "Medilink",
                     "other": "Other or not recognised"}
    spellings = terminology.rows("dxa_manufacturers")
    # every spelling is already a key (lower case, no punctuation, single blanks) and has a source
    assert all(r["spelling"] == " ".join(r["spelling"].split()) == r["spelling"].lower() and
               not set(".,;:-_/()&+") & set(r["spelling"]) and r["source"] for r in spellings)
    seeds = tmp_path / "seeds"
    shutil.copytree(SEEDS_DIR, seeds)
    with (seeds / "dxa_manufacturers.csv").open("a", encoding="utf-8") as handle:
        handle.write("hologic horizon,hologic,Hologic Inc,a second name\n")
    with pytest.raises(OsteoregError, match="gives 'hologic' two names, 'Hologic' and 'Hologic Inc'"):
        terminology.dxa_manufacturer_names(seeds)
