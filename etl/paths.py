"""Where the project's own files live, found from the package so any working directory works.

`migrations/` and `dbt_project/` sit beside `etl/` in the checkout (the layout is fixed), and the
project installs editable (`make demo`, `make test`), so they are found relative to this file.
"""
from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS_DIR = PROJECT_ROOT / "migrations"
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
SEEDS_DIR = DBT_PROJECT_DIR / "seeds"
EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"
BUILTIN_PROFILES_DIR = Path(__file__).resolve().parent / "ingest" / "profiles"

DEFAULT_WAREHOUSE = Path("warehouse") / "osteoreg.duckdb"


def resolve_warehouse(path: str | os.PathLike | None) -> Path:
    """The warehouse file: the option, else $OSTEOREG_WAREHOUSE, else ./warehouse/osteoreg.duckdb."""
    chosen = path or os.environ.get("OSTEOREG_WAREHOUSE") or DEFAULT_WAREHOUSE
    return Path(chosen).expanduser().absolute()
