"""Every malformed source profile ends in one sentence naming the file (never a traceback)."""
from __future__ import annotations

import pytest

from etl.errors import InputError
from etl.ingest.loader import ingest_paths
from etl.ingest.profiles import load_profile

GOOD_LABS = "  labs:\n    columns: {patient_id: P, collected_at: T, code: C, value: V, unit: U}\n"

MALFORMED = {
    "empty file": "",
    "only a comment": "# nothing here\n",
    "a list at the top": "- kinds\n- labs\n",
    "text at the top": "just some words\n",
    "no kinds": "name: x\n",
    "kinds is a list": "kinds: [labs, dxa]\n",
    "kinds is text": "kinds: labs\n",
    "an unknown kind": "kinds:\n  medications: {}\n",
    "a kind that is a list": "kinds:\n  labs: [patient_id, value]\n",
    "columns is a list": "kinds:\n  labs:\n    columns: [patient_id, value]\n",
    "an unknown canonical column": "kinds:\n  labs:\n    columns: {patient_id: P, colour: X}\n",
    "a column mapped to a list": "kinds:\n  labs:\n    columns: {patient_id: [A, B], collected_at: T, code: C, value: V, unit: U}\n",
    "a column mapped to nothing": "kinds:\n  labs:\n    columns: {patient_id: , collected_at: T, code: C, value: V, unit: U}\n",
    "a required column without source": "kinds:\n  labs:\n    columns: {patient_id: P}\n",
    "match as text": "kinds:\n" + GOOD_LABS + "    match: PatNr\n",
    "match holding a mapping": "kinds:\n" + GOOD_LABS + "    match: [{a: b}]\n",
    "values as a list": "kinds:\n" + GOOD_LABS + "    values: [a, b]\n",
    "a value table that is text": "kinds:\n" + GOOD_LABS + "    values: {unit: mmol}\n",
    "values for an unknown column": "kinds:\n" + GOOD_LABS + "    values: {colour: {a: b}}\n",
    "date formats as text": "kinds:\n" + GOOD_LABS + "    date_formats: '%d.%m.%Y'\n",
    "a date format without directives": "kinds:\n" + GOOD_LABS + "    date_formats: [dd.mm.yyyy]\n",
    "constants as a list": "kinds:\n" + GOOD_LABS + "    constants: [LOCAL]\n",
    "local codes as a list": "kinds:\n" + GOOD_LABS + "local_codes: [MG, CA]\n",
    "a local code without loinc": "kinds:\n" + GOOD_LABS + "local_codes:\n  MG: {unit: mg/dL}\n",
    "a local code target that is a list": "kinds:\n" + GOOD_LABS + "local_codes:\n  MG: [19123-9]\n",
    "default units as a list": "kinds:\n" + GOOD_LABS + "default_units: [mmol/L]\n",
    "a delimiter of two characters": "delimiter: ';;'\nkinds:\n" + GOOD_LABS,
    "a delimiter that is a quote": "delimiter: '\"'\nkinds:\n" + GOOD_LABS,
    "an encoding that is a list": "encoding: [utf-8]\nkinds:\n" + GOOD_LABS,
    "an unknown encoding": "encoding: ebcdic\nkinds:\n" + GOOD_LABS,
    "a name that is a mapping": "name: {a: b}\nkinds:\n" + GOOD_LABS,
    "invalid YAML": "kinds:\n  labs: {columns: [\n",
    "tabs for indentation": "kinds:\n\tlabs: {}\n",
    "a Python object tag": "kinds: !!python/object/apply:os.system ['true']\n",
    "deep nesting": "kinds: " + "[" * 5000 + "]" * 5000 + "\n",
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_a_malformed_profile_is_one_sentence(tmp_path, case):
    path = tmp_path / "profile.yaml"
    path.write_text(MALFORMED[case], encoding="utf-8")
    with pytest.raises(InputError) as refused:
        load_profile(path)
    message = str(refused.value)
    assert message.startswith(f"The source profile {path}"), message
    assert message.endswith(".") and "\n" not in message and "Traceback" not in message


@pytest.mark.parametrize("content", [b"kinds:\n  labs: {}\n\xff\xfe", b"\x00" * 100])
def test_a_profile_that_is_not_utf_8_text_is_one_sentence(tmp_path, content):
    path = tmp_path / "profile.yaml"
    path.write_bytes(content)
    with pytest.raises(InputError, match=r"is not UTF-8 text|is not valid YAML"):
        load_profile(path)


def test_a_folder_or_a_huge_file_as_profile_is_one_sentence(tmp_path):
    with pytest.raises(InputError, match=r"is a folder; name the profile's YAML file\.$"):
        load_profile(tmp_path)
    huge = tmp_path / "huge.yaml"
    huge.write_text("# padding\n" * 200_000)
    with pytest.raises(InputError, match=r"a profile is a short YAML file"):
        load_profile(huge)


def test_ingest_with_a_malformed_profile_refuses_before_reading_anything(tmp_path, warehouse_path, secret):
    path = tmp_path / "profile.yaml"
    path.write_text(MALFORMED["match as text"], encoding="utf-8")
    labs = tmp_path / "labs.csv"
    labs.write_text("P,T,C,V,U\nP1,2024-01-01,2601-3,0.8,mmol/L\n")
    with pytest.raises(InputError, match=r"`kinds.labs.match` must be a list"):
        ingest_paths(warehouse_path, [labs], profile_path=path)
    assert not warehouse_path.exists()
