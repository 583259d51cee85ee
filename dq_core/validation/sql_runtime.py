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
from collections.abc import Iterable

import polars as pl

from dq_core.validation.env import RuleCompileError

_SCAN = re.compile(r"\b([A-Za-z]+ SCAN \[.*?\])")
_QUOTED = re.compile(r"\"[^\"]*\"|'[^']*'|`[^`]*`|\[[^\]]*\]")
_DTYPE = re.compile(
    r"^(str|bool|null|binary|date|time|cat|[iuf](8|16|32|64|128)|(datetime|duration|decimal|list)\b.*)$"
)
_MAX = 160


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


def safe_error(exc: BaseException, *, allowed: Iterable[str] = ()) -> str:
    """One line naming the error; quoted fragments survive only when ``allowed`` holds them."""
    keep = set(allowed)
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    first = (lines[0] if lines else "").split("; valid columns", 1)[0]
    text = _QUOTED.sub(lambda m: m.group(0) if _kept(m.group(0)[1:-1], keep) else "…", first)
    if len(text) > _MAX:
        text = text[: _MAX - 1] + "…"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _kept(inner: str, keep: set[str]) -> bool:
    return inner in keep or bool(_DTYPE.match(inner))


def allowed_words(*texts: str | None, names: Iterable[str] = ()) -> set[str]:
    """What an error may quote: the dataset's column names, and the identifiers and
    literals of the authored text (the author wrote them; the data did not)."""
    words = set(names)
    for text in texts or ():
        if text:
            words.update(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text))
            words.update(a or b for a, b in re.findall(r"'([^']*)'|\"([^\"]*)\"", text))
    return words
