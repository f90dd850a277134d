"""The analyses' frames, read from the marts (a warehouse or a published snapshot) by static SQL
in `sql/`: one row per patient for the studies, one row per year x sex x age band for the
standardised prevalence. Set-based; nothing here computes a statistic.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pandas as pd

SQL_DIR = Path(__file__).resolve().parent / "sql"
REQUIRED = {
    "shi": ("fct_bmd_assessment", "fct_prescan_labs", "fct_lab_result"),
    "ali": ("fct_bmd_assessment", "fct_deficiency_flags"),
    "prevalence": ("fct_bmd_assessment", "fct_deficiency_flags"),
}


@lru_cache(maxsize=None)
def sql(name: str) -> str:
    return (SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")


def missing_marts(conn, analysis: str) -> list[str]:
    """The marts an analysis needs that this database lacks (an older build)."""
    present = {name for name, in conn.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'marts'").fetchall()}
    return [f"marts.{name}" for name in REQUIRED[analysis] if name not in present]


def shi_frame(conn) -> pd.DataFrame:
    return conn.sql(sql("shi_population")).df()


def ali_frame(conn) -> pd.DataFrame:
    return conn.sql(sql("ali_population")).df()


def prevalence_counts(conn) -> pd.DataFrame:
    return conn.sql(sql("prevalence_counts")).df()


def last_scan_date(conn):
    return conn.execute("SELECT max(scan_date) FROM marts.fct_bmd_assessment").fetchall()[0][0]


def years_suppressed_in_marts(conn) -> set[int]:
    """Years the marts' disclosure control hid in `mg_deficiency_prevalence_by_year` (the same
    patients as the standardised table's), so the analyses never publish them either."""
    present = conn.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'marts' "
                           "AND table_name = 'mg_deficiency_prevalence_by_year'").fetchall()[0][0]
    if not present:
        return set()
    return {int(year) for year, in conn.execute(
        "SELECT year FROM marts.mg_deficiency_prevalence_by_year WHERE suppressed").fetchall()}
