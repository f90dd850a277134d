"""HL7 v2 ORU^R01 reader: third-party samples, framing, escapes and every malformed message."""
from __future__ import annotations

import re

from pathlib import Path

import pytest

from etl.ingest import hl7v2

MSH = "MSH|^~\\&|LAB|HOSP|REG|OST|20240305083000+0100||ORU^R01^ORU_R01|{id}|P|2.5.1"
PID = "PID|1||{pid}^^^HOSP^MR||DOE^JANE||19540312|F"
OBR = "OBR|1|PL1|{acc}^LAB|24331-1^Lytes^LN|||20240305073000+0100"
OBX_MG = "OBX|1|NM|19123-9^Magnesium^LN||1.9|mg/dL|1.7-2.2|N|||F|||20240305080000+0100"


def message(msg_id="M1", pid="P1", acc="A1", obx=(OBX_MG,)) -> list[str]:
    return [MSH.format(id=msg_id), PID.format(pid=pid), OBR.format(acc=acc), *obx]


def write(tmp_path: Path, segments: list[str], sep: str = "\r", name: str = "feed.hl7") -> Path:
    path = tmp_path / name
    path.write_bytes(sep.join(segments).encode("utf-8"))
    return path


@pytest.mark.parametrize("ts, iso", [
    ("20141006064500+0700", "2014-10-06T06:45:00+07:00"),
    ("201203141259-0215", "2012-03-14T12:59:00-02:15"),
    ("200202150730", "2002-02-15T07:30:00"),
    ("20240305083012.1234", "2024-03-05T08:30:12.1234"),
    ("2024030508", "2024-03-05T08:00:00"),
    ("20120301", "2012-03-01"),
    ("196203520", "196203520"),   # 9 digits: not a TS, kept for the loader's invalid_date
    ("n/a", "n/a"),
])
def test_hl7_timestamps_become_iso_text_keeping_the_offset(ts, iso):
    assert hl7v2.hl7_ts_to_iso(ts) == iso


def test_looks_like_accepts_bom_and_mllp_and_refuses_csv():
    assert hl7v2.looks_like(b"\xef\xbb\xbfMSH|^~\\&|x")
    assert hl7v2.looks_like(b"\x0bMSH|^~\\&|x")
    assert hl7v2.looks_like(b"FHS|^~\\&|x")
    assert not hl7v2.looks_like(b"patient_id,sex,birth_date\n")
    assert not hl7v2.looks_like(b"MSHX,y")


def test_lab_oru_1_reads_every_obx_with_status_and_offset(external, conn, rows):
    result = hl7v2.read(external / "fhir-converter" / "LAB-ORU-1.hl7", conn)
    labs = rows(result, "labs")
    assert [r["code"] for r in labs] == ["11156-7", "11273-0", "20509-6", "20570-8", "11125-2",
                                         "23761-0", "26450-7", "26478-8", "26485-3", "30180-4"]
    assert [r["status"] for r in labs[:5]] == ["I", "P", "I", "P", "F"]
    erythrocytes = labs[1]
    assert erythrocytes == {
        "source_row": 5, "patient_id": "10006579", "collected_at": "2014-10-06T06:27:00+07:00",
        "code": "11273-0", "value": "4.06", "unit": "tera.l-1", "code_system": "LOINC",
        "name": "ERYTHROCYTES", "reference_range": "", "abnormal_flag": "N", "status": "P",
        "accession_id": "82503246", "loinc_code": "",
        # PID-3 `10006579^^^1^MRN^1`: CX.4 `1` is the namespace; MSH-7 the version's time; OBX-14
        # (06:27) differs from OBR-7, so the observation time is part of the result's identity
        "patient_id_namespace": "1", "reported_at": "2014-10-06T06:45:00+07:00",
        "result_id": "82503246^11273-0^^20141006062700+0700"}
    assert {r["accession_id"] for r in labs[5:]} == {"890775544"}
    assert rows(result, "patients") == [
        {"source_row": 2, "patient_id": "10006579", "patient_id_namespace": "1", "sex": "M",
         "birth_date": "1924-10-10"}]
    assert result.rejects == [] and result.rows_read == 11


def test_lab_oru_2_sends_the_same_orders_final_with_changed_values(external, conn, rows):
    labs = {r["code"]: r for r in rows(hl7v2.read(external / "fhir-converter" / "LAB-ORU-2.hl7", conn), "labs")}
    assert {r["status"] for r in labs.values()} == {"F"}
    assert (labs["11273-0"]["value"], labs["20570-8"]["value"], labs["11125-2"]["value"]) == ("4.08", "39.7", "220")
    assert labs["20509-6"]["unit"] == "g/l-1"
    assert labs["11273-0"]["accession_id"] == "82503246"


def test_rmgead_structured_numeric_and_local_coding_system(external, conn, rows):
    [glucose] = rows(hl7v2.read(external / "fhir-converter" / "ORU-R01-RMGEAD.hl7", conn), "labs")
    assert glucose["value"] == "182"                      # SN ^182
    assert glucose["unit"] == "mg/dl" and glucose["reference_range"] == "70_105"
    assert glucose["abnormal_flag"] == "H" and glucose["status"] == "F"
    assert glucose["collected_at"] == "2002-02-15T07:30:00+06:00"   # no OBX-14: OBR-7
    assert glucose["code_system"] == "POST 12H CFST:MCNC:PT:SER/PLAS:QN"  # OBX-3.3 is not LN
    assert glucose["accession_id"] == "1045813"


def test_nist_lead_takes_ucum_unit_component_and_free_text_range(external, conn, rows):
    result = hl7v2.read(external / "node-hl7-complete" / "ORU_R01_2.5.1_SampleTestCase1.hl7", conn)
    [lead] = rows(result, "labs")
    assert (lead["code"], lead["code_system"], lead["value"], lead["unit"]) == ("10368-9", "LOINC", "50", "ug/dL")
    assert lead["reference_range"] == "<9 mcg/dL:  Acceptable background lead exposure"
    assert lead["collected_at"] == "2008-08-15T10:30:00-07:00" and lead["accession_id"] == "9700123"
    assert rows(result, "patients")[0]["patient_id"] == "9817566735"


def test_python_hl7_sample_keeps_the_invalid_birth_date_as_written(external, conn, rows):
    result = hl7v2.read(external / "python-hl7" / "sample_hl7.hl7", conn)
    assert rows(result, "patients")[0]["birth_date"] == "196203520"
    sn, fn = rows(result, "labs")
    assert (sn["value"], fn["value"]) == ("182", "^182")   # FN is no HL7 type: its value as sent


def test_kitchen_sink_message_is_quarantined_whole_for_its_statusless_obx(external, conn):
    result = hl7v2.read(external / "fhir-converter" / "ORU-R01-01.hl7", conn)
    assert result.batches == []
    [reject] = result.rejects
    assert (reject.source_row, reject.reason, reject.field) == (1, "unparseable_message", "OBX-11")
    assert reject.payload["message"].count("\r") == 28      # all 29 segments kept
    assert "line 11" in reject.payload["error"]


@pytest.mark.parametrize("sep", ["\r", "\n", "\r\n"])
def test_separators_framing_and_several_messages(tmp_path, conn, rows, sep):
    segments = ["\x0b" + message("M1", "P1", "A1")[0], *message("M1", "P1", "A1")[1:],
                "\x1c", "\x0b" + message("M2", "P2", "A2")[0], *message("M2", "P2", "A2")[1:], "\x1c"]
    result = hl7v2.read(write(tmp_path, segments, sep), conn)
    labs = rows(result, "labs")
    assert [(r["patient_id"], r["accession_id"], r["value"]) for r in labs] == [
        ("P1", "A1", "1.9"), ("P2", "A2", "1.9")]
    assert [r["source_row"] for r in labs] == [4, 9]


def test_repeated_patient_and_order_groups_carry_their_own_context(tmp_path, conn, rows):
    segments = [MSH.format(id="M1"), PID.format(pid="P1"), OBR.format(acc="A1"), OBX_MG,
                OBR.format(acc="A2"), OBX_MG.replace("1.9", "2.1"),
                PID.format(pid="P2"), OBR.format(acc="A3"), OBX_MG.replace("|||20240305080000+0100", "")]
    labs = rows(hl7v2.read(write(tmp_path, segments), conn), "labs")
    assert [(r["patient_id"], r["accession_id"], r["value"]) for r in labs] == [
        ("P1", "A1", "1.9"), ("P1", "A2", "2.1"), ("P2", "A3", "1.9")]
    assert labs[2]["collected_at"] == "2024-03-05T07:30:00+01:00"   # OBR-7 when OBX-14 is empty


def test_escapes_comparators_alternate_loinc_and_local_codes(tmp_path, conn, rows):
    obx = ["OBX|1|SN|MG^Magnesium \\T\\ more^LOCAL^19123-9^Magnesium^LN||<^0.2|mg/dL^^UCUM|0.7\\S\\1.0|L|||C",
           "OBX|2|ST|XYZ1^Note^99LAB||a\\F\\b\\X41\\\\E\\c||||||X",
           "OBX|3|NM|2601-3^Mg^LN||||||||D"]
    labs = rows(hl7v2.read(write(tmp_path, message(obx=obx)), conn), "labs")
    first, second, third = labs
    assert (first["code"], first["code_system"], first["loinc_code"]) == ("MG", "LOCAL", "19123-9")
    assert (first["name"], first["value"], first["unit"]) == ("Magnesium & more", "<0.2", "mg/dL")
    assert (first["reference_range"], first["status"]) == ("0.7^1.0", "C")
    assert (second["code_system"], second["value"], second["status"]) == ("99LAB", "a|bA\\c", "X")
    assert (third["value"], third["status"], third["loinc_code"]) == ("", "D", "")


@pytest.mark.parametrize("broken, field", [
    ("OBX|3|NM|2601-3^Magnesium^LN||0.7", "OBX-11"),                      # truncated message
    ("this is not a segment", "segment"),
])
def test_a_broken_message_is_quarantined_whole_and_the_next_one_loads(tmp_path, conn, rows, broken, field):
    segments = message("M1", "P1", "A1", obx=(OBX_MG, broken)) + message("M2", "P2", "A2")
    result = hl7v2.read(write(tmp_path, segments), conn)
    [reject] = result.rejects
    assert (reject.source_row, reject.reason, reject.field) == (1, "unparseable_message", field)
    assert reject.payload["message"].split("\r")[-1] == broken
    assert [r["patient_id"] for r in rows(result, "labs")] == ["P2"]
    assert [r["patient_id"] for r in rows(result, "patients")] == ["P2"]
    assert result.rows_read == 3


def test_segments_without_msh_and_messages_without_patient_are_rejected(tmp_path, conn, rows):
    segments = [PID.format(pid="P0"), OBX_MG,                          # no MSH at all
                *message("M1", "P1", "A1"),
                MSH.format(id="M2"), OBR.format(acc="A2"), OBX_MG,     # OBX without PID
                MSH.format(id="M3").replace("|P|2.5.1", "")]           # MSH cut before MSH-12
    result = hl7v2.read(write(tmp_path, segments), conn)
    assert [(r.source_row, r.field) for r in result.rejects] == [(1, "MSH"), (7, "PID"), (10, "MSH-12")]
    assert {r.reason for r in result.rejects} == {"unparseable_message"}
    assert [r["patient_id"] for r in rows(result, "labs")] == ["P1"]


def test_other_message_types_are_counted_as_skipped(tmp_path, conn, rows):
    adt = [MSH.format(id="A1").replace("ORU^R01^ORU_R01", "ADT^A08"), PID.format(pid="P9")]
    result = hl7v2.read(write(tmp_path, adt + message("M1", "P1", "A1")), conn)
    assert result.rows_skipped == 1
    assert [r["patient_id"] for r in rows(result, "patients")] == ["P1"]


def test_custom_delimiters_are_honoured(tmp_path, conn, rows):
    segments = ["MSH#$%!@#LAB#HOSP#REG#OST#20240305083000##ORU$R01#M1#P#2.4",
                "PID#1##P7$$$HOSP##DOE$JANE##19540312#F",
                "OBR#1##ACC7#x",
                "OBX#1#NM#19123-9$Magnesium$LN##2.0#mg/dL#1.7-2.2#N###F###202403050800"]
    [lab] = rows(hl7v2.read(write(tmp_path, segments), conn), "labs")
    assert (lab["patient_id"], lab["code"], lab["code_system"], lab["value"]) == ("P7", "19123-9", "LOINC", "2.0")
    assert lab["collected_at"] == "2024-03-05T08:00:00" and lab["accession_id"] == "ACC7"


def test_the_synthetic_writer_round_trips_every_lab_row(tmp_path, conn, rows):
    from etl.synth import cohort
    from etl.synth import hl7v2 as writer

    facts = cohort.generate(150, seed=5, messy=True)
    [path] = writer.write(facts, tmp_path)
    names = ["patient_id", "collected_at", "code", "name", "value", "unit", "reference_range",
             "abnormal_flag", "status", "accession_id"]
    sent = [tuple(r[n] or "" for n in names) for r in facts.labs.select(names).to_pylist()]
    # HL7 NM/SN numbers carry a decimal point only: the writer sends the CSV's `1,94` as `1.94`
    sent = [row[:4] + (re.sub(r"^([<>]=?)?(-?\d+),(\d+)$", r"\1\2.\3", row[4]),) + row[5:] for row in sent]
    read = [tuple(r[n] or "" for n in names) for r in rows(hl7v2.read(path, conn), "labs")]
    assert read == sent
    assert {r[names.index("status")] for r in read} >= {"F", "C", "P", "D", "X"}
    values = [r[names.index("value")] for r in read]
    assert any(v[:1] in ("<", ">") for v in values) and not any(re.fullmatch(r"[<>]?\d+,\d+", v) for v in values)


def _one(msg_id: str, unit: str, charset: str = "") -> str:
    return (f"MSH|^~\\&|LAB|HOSP|REG|OST|20240305080000||ORU^R01|{msg_id}|P|2.5.1||||||{charset}\r"
            "PID|1||1001^^^H^MR||DOE^J||19500101|F\rOBR|1||A1|14682-9^Crea^LN|||20240305080000\r"
            f"OBX|1|NM|14682-9^Creatinine^LN||80|{unit}|||||F\r")


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be", "utf-8-sig"])
def test_utf16_and_bom_files_load(tmp_path, conn, rows, encoding):
    path = tmp_path / "feed.hl7"
    text = _one("M1", "µmol/L")
    path.write_bytes(text.encode("utf-16") if encoding == "utf-16-le" else
                     b"\xfe\xff" + text.encode("utf-16-be") if encoding == "utf-16-be" else text.encode(encoding))
    assert [r["unit"] for r in rows(hl7v2.read(path, conn), "labs")] == ["µmol/L"]


def test_each_message_is_read_in_the_character_set_msh18_names(tmp_path, conn, rows):
    path = tmp_path / "feed.hl7"
    path.write_bytes(_one("M1", "µmol/L", "8859/1").encode("latin-1") + _one("M2", "µmol/L", "UNICODE UTF-8").encode())
    assert [r["unit"] for r in rows(hl7v2.read(path, conn), "labs")] == ["µmol/L", "µmol/L"]


def test_a_timed_series_keeps_every_point(tmp_path, conn, rows):
    """Three glucose results of one order, told apart by OBX-4 and OBX-14 (a tolerance test)."""
    path = tmp_path / "series.hl7"
    obx = "OBX|{n}|NM|2345-7^Glucose^LN|{n}|{v}|mg/dL|||||F|||2024030508{m}00\r"
    path.write_text(_one("M1", "x").split("OBX")[0] + "".join(obx.format(n=n, v=v, m=m) for n, v, m in
                                                             ((1, 90, "00"), (2, 160, "30"), (3, 120, "59"))))
    labs = rows(hl7v2.read(path, conn), "labs")
    assert len({r["result_id"] for r in labs}) == 3
    assert [r["collected_at"] for r in labs] == ["2024-03-05T08:00:00", "2024-03-05T08:30:00", "2024-03-05T08:59:00"]
