"""The data dictionary: dbt's documentation site of the project, as one static HTML file.

`dbt docs generate --static` writes `static_index.html`, which carries the manifest (every
model's and column's description from the `_*.yml` files) and the catalog (column types read
from the warehouse) inside the page, so it opens from disk without a server. The catalog needs
the warehouse itself, which only the ETL may open while it runs; the dictionary is therefore
written when the snapshot is published, beside it, and the report copies it.
"""
from __future__ import annotations

import os
from pathlib import Path

from .build import WAREHOUSE_ENV, dbt_environment, release_warehouse, dbt_work_dir
from .errors import OsteoregError
from .paths import DBT_PROJECT_DIR


def dictionary_path(warehouse_path: Path) -> Path:
    """`<warehouse dir>/<stem>.dictionary.html`, published together with the snapshot."""
    warehouse_path = Path(warehouse_path)
    return warehouse_path.with_name(f"{warehouse_path.stem}.dictionary.html")


def generate_data_dictionary(warehouse_path: Path) -> Path:
    """Run `dbt docs generate --static` on the warehouse and publish its page atomically."""
    from dbt.cli.main import dbtRunner

    warehouse_path = Path(warehouse_path).absolute()
    # Its own target folder: the build's run results stay as the build left them, and the
    # partial-parse cache kept here makes the next generation quick.
    target = dbt_work_dir(warehouse_path) / "docs"
    args = ["docs", "generate", "--static",
            "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
            "--target-path", str(target), "--log-path", str(dbt_work_dir(warehouse_path) / "logs"),
            "--log-level", "none", "--log-level-file", "info",
            "--no-use-colors", "--no-send-anonymous-usage-stats"]
    try:
        with dbt_environment({WAREHOUSE_ENV: str(warehouse_path), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}):
            outcome = dbtRunner().invoke(args)
    finally:
        release_warehouse()
    page = target / "static_index.html"
    if outcome.exception is not None or not outcome.success or not page.exists():
        detail = str(outcome.exception).strip().splitlines()[0] if outcome.exception else "see the dbt log"
        raise OsteoregError(f"dbt could not generate the data dictionary ({detail}).")
    published = dictionary_path(warehouse_path)
    partial = published.with_name(f"{published.name}.partial-{os.getpid()}")
    partial.write_bytes(page.read_bytes())
    os.replace(partial, published)
    return published
