"""The analyst report: the studies' analyses on the registry's own data, from the published
snapshot (`write_report`), and the data dictionary published with it (`dictionary`)."""
from __future__ import annotations

from .write import Headline, ReportResult, write_report

__all__ = ["Headline", "ReportResult", "write_report"]
