"""Run-time guards around authored SQL: the plan reads nothing new, errors repeat no data.

The parser allow-list (:mod:`dq_core.libraries.sql_guard`) decides what authored SQL
may say. Two more guards hold where polars runs it, so that a gap between what sqlglot
and polars parse cannot become a file read or a leak:

* :func:`ensure_reads_only` compares the scans of the plan about to run with the scans
  of the frame it was built on: a query whose plan scans any other source (a file, a
  table function) is refused before it is collected;
* :func:`safe_error` turns an engine error into one line that quotes only what the
  caller allows (the authored text and the dataset's own column names): polars error
  texts carry values (``failed for 1 out of 2 values: ["abc"]``) and, for a table read
  from a file, its content as column names.
"""

from __future__ import annotations

import re

import polars as pl

from dq_core.safe_text import allowed_words, safe_error
from dq_core.validation.env import RuleCompileError

__all__ = ["ForeignScanError", "allowed_words", "ensure_reads_only", "safe_error", "scans"]

_SCAN = re.compile(r"\b([A-Za-z]+ SCAN \[.*?\])")


class ForeignScanError(RuleCompileError):
    """Authored SQL whose plan reads a source other than the rule's own data."""


def scans(frame: pl.LazyFrame) -> set[str]:
    """The sources a lazy plan scans, as polars names them (``Csv SCAN [/path]``)."""
    return set(_SCAN.findall(frame.explain(optimized=False)))


def ensure_reads_only(result: pl.LazyFrame, source: pl.LazyFrame) -> None:
    """Refuse ``result`` when its plan scans a source that ``source`` does not."""
    foreign = scans(result) - scans(source)
    if foreign:
        kind = next(iter(sorted(foreign))).split(" SCAN", 1)[0].lower()
        msg = f"authored SQL tried to read a {kind} source other than the rule's own data; refused"
        raise ForeignScanError(msg)
