"""dbt layers point one way: staging reads sources, intermediate reads staging/intermediate/seeds,
marts read anything below them; no layer reads one above it (issue 11, item 5)."""
from __future__ import annotations

import re

from etl.paths import DBT_PROJECT_DIR

MODELS = DBT_PROJECT_DIR / "models"
_REF = re.compile(r"""ref\(\s*['"](\w+)['"]\s*\)""")


def _layer_models(layer: str) -> dict[str, set[str]]:
    """model name -> the names it refs, for every model file of a layer."""
    return {path.stem: set(_REF.findall(path.read_text(encoding="utf-8")))
            for path in (MODELS / layer).glob("*.sql")}


def test_no_intermediate_or_staging_model_reads_a_mart():
    marts = set(_layer_models("marts"))
    assert "fct_lab_result" in marts
    for layer in ("staging", "intermediate"):
        for model, refs in _layer_models(layer).items():
            assert not refs & marts, f"{layer} model {model} reads the mart(s) {sorted(refs & marts)}"


def test_no_staging_model_reads_intermediate():
    intermediate = set(_layer_models("intermediate"))
    for model, refs in _layer_models("staging").items():
        assert not refs & intermediate, f"staging model {model} reads {sorted(refs & intermediate)}"


def test_the_ref_pattern_sees_the_refs_it_guards():
    # the check above would pass vacuously if the pattern missed dbt's ref syntax
    assert "int_lab_results_converted" in _layer_models("intermediate")["int_labs_matched_to_scans"]
    assert "int_lab_results_converted" in _layer_models("marts")["fct_lab_result"]
