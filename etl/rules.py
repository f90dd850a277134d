"""The clinical rules' values as the dbt project states them (vars in `dbt_project/dbt_project.yml`).

Every rule lives once, as a dbt var with its source; Python that needs a threshold (scoring,
the report, the synthetic cohort's truth model) reads the var's default here rather than
restating the number.
"""
from __future__ import annotations

from functools import lru_cache

import yaml

from .errors import UsageError
from .paths import DBT_PROJECT_DIR


@lru_cache(maxsize=None)
def _dbt_vars() -> dict:
    with (DBT_PROJECT_DIR / "dbt_project.yml").open(encoding="utf-8") as handle:
        return yaml.safe_load(handle).get("vars", {})


def dbt_var(name: str):
    """A clinical rule's default value from the dbt project."""
    variables = _dbt_vars()
    if name not in variables:
        raise UsageError(f"The dbt project defines no var {name!r}.")
    return variables[name]
