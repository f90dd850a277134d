"""The analyst report: the studies' analyses on the registry's own data, from the published
snapshot (`write_report`); the data dictionary it copies is published with the snapshot
(`etl.docs`)."""
from __future__ import annotations

from .write import Headline, ReportResult, write_report

__all__ = ["Headline", "ReportResult", "write_report"]
