"""The evaluation report: HTML page and PNG figures over a run folder's results."""

from .build import ReportConfig, write_report

__all__ = ["ReportConfig", "write_report"]
