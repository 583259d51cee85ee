"""The per-run HTML report (``report.html``): self-contained, rendered from the run's result."""

from dq_core.reporting.render import UNKNOWN_GOVERNANCE, ReportGovernance, governance_of, render_report

__all__ = ["UNKNOWN_GOVERNANCE", "ReportGovernance", "governance_of", "render_report"]
