"""`osteoreg report --out` naming something that cannot be a folder ends in one sentence."""
from __future__ import annotations

import pytest

from etl.errors import UsageError
from etl.report import write_report


@pytest.mark.parametrize("inside", [False, True])
def test_out_pointing_at_a_file_is_refused_in_one_sentence(tmp_path, inside):
    existing = tmp_path / "report.html"
    existing.write_text("an older report")
    out = existing / "sub" if inside else existing
    with pytest.raises(UsageError) as refused:
        write_report(tmp_path / "osteoreg.duckdb", out)
    assert str(refused.value) == (f"The report folder {out} cannot be made because {existing} is a file; "
                                  "name a folder with --out.")
    assert existing.read_text() == "an older report"
