"""Which reader a file goes to, from its first bytes and, where bytes cannot tell, its name."""
from __future__ import annotations

from pathlib import Path

import pytest

from etl.errors import InputError
from etl.ingest.detect import detect


@pytest.mark.parametrize(("name", "head", "expected"), [
    ("x.parquet", b"PAR1\x15\x04", "parquet"),
    ("feed.txt", b"\xef\xbb\xbfMSH|^~\\&|LAB", "hl7v2"),
    ("feed.txt", b"\x0bMSH|^~\\&|LAB", "hl7v2"),
    ("batch.txt", b"FHS|^~\\&|LAB\rBHS|^~\\&", "hl7v2"),
    ("broken.hl7", b"PID|1||123", "hl7v2"),          # no MSH: the HL7 reader quarantines it
    ("obs.txt", b'{"resourceType": "Observation"}', "fhir"),
    ("manifest-like.json", b'{"transactionTime": "2024"}', "fhir"),
    ("labs.csv", b"patient_id,collected_at,code,value,unit\n", "csv"),
])
def test_detect(name, head, expected):
    assert detect(Path(name), head) == expected


def test_empty_and_binary_files_are_refused_in_one_sentence():
    with pytest.raises(InputError, match="is empty"):
        detect(Path("empty.csv"), b"")
    with pytest.raises(InputError, match="binary file"):
        detect(Path("blob.bin"), b"\x89PNG\r\n\x1a\n\x00\x00")
