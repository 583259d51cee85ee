"""What every command prints and returns: stdout / stderr lines and the exit codes."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dq_core.validation.results import ValidationResult

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_INTERNAL = 0, 1, 2, 3
DEFAULT_HOME = Path(".dq")  # the embedded stores (SQLite registry and lineage, local blobs)


def _out(text: str) -> None:
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


def _err(text: str) -> None:
    sys.stderr.write(text + "\n")


def _write(data: bytes, out: Path | None) -> None:
    if out is None:
        sys.stdout.buffer.write(data)
        if not data.endswith(b"\n"):
            sys.stdout.buffer.write(b"\n")
    else:
        out.write_bytes(data)


def failing_rules(validation: ValidationResult) -> list[str]:
    """One line per failed or erroring rule (status, severity, id: what was found), and its remediation hint
    under it, as ``dq validate`` and ``dq run`` print them."""
    lines = []
    for rule in validation.rules:
        if rule.status.value in ("failed", "error"):
            detail = rule.error or (
                f"{rule.unexpected_count} unexpected ({rule.unexpected_percent:.2f}%)"
                if rule.unexpected_count is not None and rule.unexpected_percent is not None
                else f"observed {rule.observed_value}"
            )
            lines.append(f"  {rule.status.value:<6} {rule.severity.value:<7} {rule.rule_id}: {detail}")
            if rule.hint:
                lines.append(f"{'':17}hint: {rule.hint}")
    return lines
