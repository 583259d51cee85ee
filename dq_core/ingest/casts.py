"""How a read types text: inferred from a first chunk without a contract (``dq profile``), or cast
to the contract's logical types. The chunked read casts with :func:`_fast_cast` and catches up with
:func:`_slow_casts`, so its values are :func:`~dq_core.cleansing.steps.cast_expr`'s; a lazy read (one
query, :meth:`~dq_core.ingest.stream.ChunkedRead.lazy`) casts with :func:`_exact_cast`, whose misses its
probes see.
"""

from __future__ import annotations

import io

import polars as pl

from dq_core.cleansing.steps import cast_expr

INFER_ROWS = 10_000  # rows of the first chunk a type is inferred from, without a contract
_INFERRED: dict[pl.DataType, pl.DataType] = {
    pl.Int64(): pl.Int64(),
    pl.Float64(): pl.Float64(),
    pl.Boolean(): pl.Boolean(),
    pl.Date(): pl.Date(),
    pl.Time(): pl.Time(),
}


def _inferred(frame: pl.DataFrame) -> dict[str, pl.DataType]:
    """A type for each text column, inferred by polars from the first rows of the first chunk (not
    the whole file); what does not convert later becomes null."""
    text = [name for name, dtype in frame.schema.items() if dtype == pl.String]
    if not text or frame.height == 0:
        return {}
    sample = frame.select(text).head(INFER_ROWS).write_csv()
    guessed = pl.read_csv(io.StringIO(sample), try_parse_dates=True, infer_schema_length=None).schema
    types: dict[str, pl.DataType] = {}
    for name, dtype in guessed.items():
        if isinstance(dtype, pl.Datetime):
            types[name] = pl.Datetime("us")
        elif dtype in _INFERRED:
            types[name] = _INFERRED[dtype]
    return types


def _exact_cast(name: str, dtype: pl.DataType, source: pl.DataType) -> pl.Expr:
    """A lazy read's cast of text: ISO dates, and integers and numbers, without trimming the text first.
    A cell this leaves null and ``cast_expr`` would not (padded, another date format) is seen by the
    lazy read's probe, and the file is read chunk by chunk; one it converts has ``cast_expr``'s value
    (polars' casts refuse blanks around a number, so trimming changes nothing they accept)."""
    if source == pl.String and dtype == pl.Date:
        return pl.col(name).str.strptime(pl.Date, "%Y-%m-%d", strict=False)
    if source == pl.String and dtype in (pl.Int64(), pl.Float64()):
        return pl.col(name).cast(dtype, strict=False)
    return _fast_cast(name, dtype, source)


def _fast_cast(name: str, dtype: pl.DataType, source: pl.DataType) -> pl.Expr:
    """:func:`cast_expr`, with a fast path for ISO dates: ``cast_expr`` tries every timestamp format
    on every cell (25x slower than one format); the cells the fast path leaves null are cast again
    by ``cast_expr`` itself (:func:`_slow_casts`), so the values are ``cast_expr``'s."""
    if dtype == pl.Date and source == pl.String:
        return pl.col(name).str.strip_chars().str.strptime(pl.Date, "%Y-%m-%d", strict=False)
    return cast_expr(name, dtype, source)


def _slow_casts(cast: pl.DataFrame, targets: dict[str, pl.DataType], schema: pl.Schema) -> pl.DataFrame:
    """The cells the fast path left null (and were not), cast by :func:`cast_expr`. ``cast_expr`` reads
    a date in the format polars infers from the column's first value: when that value is an ISO
    date, the missed cells are cast after it (so the same format is inferred), else the whole column
    is cast by ``cast_expr``."""
    for name, dtype in targets.items():
        if not (dtype == pl.Date and schema[name] == pl.String):
            continue
        fast, text = cast[f"\x1f{name}"], cast[name]
        missed = (fast.is_null() & text.is_not_null()).arg_true()
        if not missed.len():
            continue
        first = int(text.is_not_null().arg_true()[0])
        if fast[first] is None:
            slow = cast.select(cast_expr(name, dtype, schema[name])).to_series()
            cast = cast.with_columns(slow.alias(f"\x1f{name}"))
            continue
        cells = pl.concat([text.gather([first]), text.gather(missed)]).to_frame(name)
        slow = cells.select(cast_expr(name, dtype, schema[name])).to_series().slice(1)
        cast = cast.with_columns(fast.scatter(missed, slow))
    return cast
