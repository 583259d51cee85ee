"""Which failing rows cleansing touched: a failing rule's rows split by the steps that changed them.

Cleansing gives every column a step changed a bitmask column, ``_dq_touched:<column>``
(:func:`~dq_core.validation.context.touched_column`): bit ``i`` is set on a row when step ``i`` of the
run's steps (``dq_core.cleansing.engine.step_names``: ``reject_formulas``, the policy's steps,
``conform_types``) changed that cell: trimmed, re-cased, normalised, mapped, imputed, or filled from
a duplicate (field-level survivorship). A type conversion (``cast``, ``conform_types``) changes
only the cells it empties (a ``cast`` with ``on_error: set_null``): a value that converts is the
same value in its type, and one that does not otherwise rejects its row.

A failing rule's query counts its failing rows per distinct mask of the columns it checks (their
masks OR-ed; all of them for a rule without columns) with :func:`touched_counts`: a few values,
whatever the rows. The counts add up across chunks and key partitions (:func:`merge_touched`), and
:func:`attribution_of` names the steps. A failing row no step touched came from the source as it is;
one a step touched is what the cleansing policy let through.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import polars as pl

from dq_core.validation.context import touched_column, touched_columns
from dq_core.validation.results import Attribution

TOUCHED_KEY = "touched"  # the aggregation's name among a check's values
LAST_BIT = 63  # the 64th and later steps of a policy share the last bit
MASK = "__dq_touched"  # a row's mask over the columns a rule checks


def row_mask(columns: Sequence[str], names: Sequence[str]) -> pl.Expr | None:
    """The steps that changed any of ``columns`` on a row (every column's, when none is named),
    from the masks among ``names`` (a frame's columns); None when cleansing touched none of them."""
    present = set(touched_columns(list(names)))
    masks = [touched_column(c) for c in columns if touched_column(c) in present] if columns else sorted(present)
    if not masks:
        return None
    return pl.reduce(lambda a, b: a | b, [pl.col(m) for m in masks]).alias(MASK)


def touched_counts(failing: pl.Expr, mask: pl.Expr) -> pl.Expr:
    """The rows ``failing`` selects, counted per distinct ``mask`` value: one list value."""
    return mask.filter(failing).value_counts(name="rows").implode()


def parse_touched(value: Any) -> dict[int, int]:
    """:func:`touched_counts`' value (a list of ``{MASK: mask, "rows": n}``) as ``{mask: rows}``."""
    return {int(item[MASK]): int(item["rows"]) for item in value or [] if item[MASK] is not None}


def merge_touched(parts: Iterable[Mapping[int, int]]) -> dict[int, int]:
    merged: dict[int, int] = {}
    for part in parts:
        for mask, rows in part.items():
            merged[mask] = merged.get(mask, 0) + rows
    return merged


def attribution_of(counts: Mapping[int, int], steps: Sequence[str]) -> Attribution:
    """Failing rows touched by cleansing, untouched, and per step (a row several steps changed
    counts under each of them, so the steps may add up to more than ``touched``)."""
    per_step: dict[str, int] = {}
    for mask, rows in counts.items():
        for index, name in enumerate(steps):
            if mask & (1 << min(index, LAST_BIT)):
                per_step[name] = per_step.get(name, 0) + rows
    touched = sum(rows for mask, rows in counts.items() if mask)
    return Attribution(touched=touched, untouched=counts.get(0, 0), steps=per_step)
