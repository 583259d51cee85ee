"""Rule suggestions: a file's profile, and how its text columns match a few known shapes, become a
draft data contract (``dq suggest``, ``POST /api/tenants/{tenant}/suggestions``).

Pure: statistics in, a :class:`~dq_core.contracts.models.DataContract` out. Every suggestion is a
binding with an inline rule whose ``description`` names the statistic it came from ("suggested: 0
nulls in 10,000 rows"); column types go on the columns, with the type the values were read as in
the column's ``description``. What is suggested, from what (thresholds in docs/suggest.md):

* **type** of every column: the logical type of the type the column was read as;
* **required** (``not_null``): no null in the column;
* **range** (``range``): the observed minimum and maximum of a number, date or timestamp column;
* **code list** (``in_set``): a text column of at most :data:`CODE_LIST_MAX` distinct values, each
  seen :data:`CODE_LIST_REPEAT` times on average;
* **pattern** (``regex``): a text column whose values match one of :data:`SHAPES` (at least
  :data:`PATTERN_MIN_SHARE` of them; ``mostly`` is the share seen when it is below 1);
* **uniqueness** (``unique``): a text or integer column whose values are all distinct;
* **volume** (``row_count``, warning): between :data:`VOLUME_LOW` and :data:`VOLUME_HIGH` times the
  rows seen.

A text column holding one of :data:`MARKERS` (``NA``, ``N/A``, ``NULL``...: what a source writes for a
missing value) says so in its description and in ``extensions.dq_suggest.source.markers``, with the
``null_values`` cleansing step that empties them; it gets no ``not_null`` (its values are missing there).
A column given a code list is left alone: there ``NA`` is more likely a code (Namibia) than a gap.

With a base contract (``--contract``) the draft is the base's next version: its columns, bindings
and references kept, the data's undeclared columns added, and only the suggestions the base's
resolved rules do not already cover (:data:`COVERED_BY`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

import polars as pl
from pydantic import Field, JsonValue

from dq_core.bundle.models import ResolvedBundle
from dq_core.config.base import Environment, Severity, Status
from dq_core.config.canonical import FLOAT_DIGITS
from dq_core.contracts.models import DataContract, DatasetSpec, RuleBinding
from dq_core.identifiers import ID_MAX_LENGTH
from dq_core.libraries.rules import (
    Dimension,
    InSetRule,
    LogicalType,
    NotNullRule,
    RangeParams,
    RangeRule,
    RegexParams,
    RegexRule,
    RowCountParams,
    RowCountRule,
    RuleCommon,
    SetParams,
    Threshold,
    UniqueRule,
)
from dq_core.libraries.schemas import ColumnSpec
from dq_core.loading.writers import to_authoring
from dq_core.payloads import Payload
from dq_core.profiling.models import ColumnProfile, ProfileResult

# --- thresholds (docs/suggest.md) ------------------------------------------------------------------

MIN_VALUES = 5
"""Non-null values a column needs before a pattern, code list or uniqueness is suggested for it."""
CODE_LIST_MAX = 20
"""A text column with at most this many distinct values gets a code list (``in_set``)..."""
CODE_LIST_REPEAT = 2
"""...when its values repeat: at least this many non-null values per distinct value."""
PATTERN_MIN_SHARE = 0.9
"""A shape is suggested when at least this share of a text column's non-null values match it."""
DISTINCT_SIGMAS = 3
"""Past the profile's exact distinct count, uniqueness is suggested when the estimate is within this many
standard errors of the non-null values; checking the draft on the file then keeps or drops it."""
VOLUME_LOW, VOLUME_HIGH = 0.5, 2.0
"""The volume band: this many times the rows seen (rounded outwards)."""
MARKERS = ("NA", "N/A", "#N/A", "NULL", "NONE", "NAN", "NIL", "-", "?")
"""What sources write for a missing value (compared trimmed and upper-cased)."""
EXTENSION = "dq_suggest"
"""The key of the draft's ``extensions``: where it came from, what was dropped."""


@dataclass(frozen=True)
class Shape:
    """A known shape of text values: a name, an anchored pattern, what it means."""

    name: str
    pattern: str
    meaning: str


SHAPES: tuple[Shape, ...] = (
    Shape("uuid", r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$", "a UUID"),
    Shape("email", r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$", "an e-mail address"),
    Shape("url", r"^https?://[^\s/?#]+[^\s]*$", "an http(s) URL"),
    Shape("phone_e164", r"^\+[1-9][0-9]{6,14}$", "an E.164 phone number"),
    Shape("iso_date", r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", "an ISO 8601 date written as text"),
    Shape("iso_alpha2", r"^[A-Z]{2}$", "a two-letter upper-case code (ISO 3166-1 alpha-2 country, ISO 639-1)"),
    Shape("iso_alpha3", r"^[A-Z]{3}$", "a three-letter upper-case code (ISO 4217 currency, ISO 3166-1 alpha-3)"),
    Shape("digits", r"^[0-9]+$", "digits only (a code kept as text: leading zeros count)"),
    Shape("prefixed_code", r"^[A-Z]+-[0-9]+$", "an upper-case prefix, a hyphen and digits (CUS-000123)"),
)
"""Most specific first: the first shape that qualifies is suggested, never more than one per column."""


# --- shape counts: one fused polars query per chunk, merged by addition ---------------------------


class ShapeCounts(Payload):
    """Per text column: its non-null values, and how many of them match each shape."""

    values: dict[str, int] = Field(default_factory=dict)
    matches: dict[str, dict[str, int]] = Field(default_factory=dict)
    markers: dict[str, dict[str, int]] = Field(default_factory=dict)  # column -> marker (upper-cased) -> values

    def merge(self, other: ShapeCounts) -> ShapeCounts:
        names = self.values.keys() | other.values.keys()
        return ShapeCounts(
            values={n: self.values.get(n, 0) + other.values.get(n, 0) for n in names},
            matches={n: _added(self.matches.get(n, {}), other.matches.get(n, {})) for n in names},
            markers={n: added for n in names if (added := _added(self.markers.get(n, {}), other.markers.get(n, {})))},
        )


def _added(one: Mapping[str, int], other: Mapping[str, int]) -> dict[str, int]:
    return {key: one.get(key, 0) + other.get(key, 0) for key in one.keys() | other.keys()}


_SEP = "\x1f"
_COUNT = "\x1fcount"  # value_counts' count field: no column is called that
_MARKER_BYTES = 64  # a marker padded in a fixed-width column; longer values are not trimmed to look
_MARKER_KEYS = {marker.lower(): marker for marker in MARKERS}  # compared lower-cased, as null_values does


def shape_counts(frame: pl.DataFrame, skip_prefix: str = "_dq_") -> ShapeCounts:
    """Count, in one select, the non-null values of every text column and the values matching each shape."""
    text = [n for n, dtype in frame.schema.items() if dtype == pl.String and not n.startswith(skip_prefix)]
    if not text:
        return ShapeCounts()
    # a marker is short: only the short values are trimmed and lower-cased
    keys = {
        n: pl.col(n).filter(pl.col(n).str.len_bytes() <= _MARKER_BYTES).str.strip_chars().str.to_lowercase()
        for n in text
    }
    exprs = [pl.col(n).is_not_null().sum().alias(f"{n}{_SEP}") for n in text] + [
        pl.col(n).str.contains(s.pattern).fill_null(value=False).sum().alias(f"{n}{_SEP}{s.name}")
        for n in text
        for s in SHAPES
    ]
    exprs += [
        keys[n].filter(keys[n].is_in(list(_MARKER_KEYS))).value_counts(name=_COUNT).implode().alias(f"{n}{_SEP}{_SEP}")
        for n in text
    ]
    row = frame.select(exprs).row(0, named=True)
    found = {n: {_MARKER_KEYS[str(c[n])]: int(c[_COUNT]) for c in row[f"{n}{_SEP}{_SEP}"]} for n in text}
    return ShapeCounts(
        values={n: int(row[f"{n}{_SEP}"]) for n in text},
        matches={n: {s.name: int(row[f"{n}{_SEP}{s.name}"]) for s in SHAPES} for n in text},
        markers={n: counts for n, counts in found.items() if counts},
    )


# --- the draft ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceFacts:
    """What was read: the file's name and hash, its profile and shape counts."""

    name: str
    sha256: str
    profile: ProfileResult
    shapes: ShapeCounts


@dataclass(frozen=True)
class DraftTarget:
    """Where the draft belongs: tenant, environment, contract id and version, dataset name."""

    tenant: str
    environment: str
    contract_id: str
    dataset: str
    version: str = "0.1.0"


@dataclass(frozen=True)
class Draft:
    """A draft contract, the ids of the bindings suggested in it, the columns it added (all of them
    without a base), the columns skipped (a base declares another type), and the suggestions dropped
    because they did not hold on the data. The contract's ``extensions.dq_suggest`` says the same."""

    contract: DataContract
    dataset: str
    source: dict[str, JsonValue]
    suggested: tuple[str, ...]
    added_columns: tuple[str, ...]
    skipped: tuple[str, ...] = ()
    dropped: tuple[str, ...] = ()
    markers: Mapping[str, Mapping[str, int]] = field(
        default_factory=dict
    )  # column -> marker -> values (source.markers)

    def stamped(self) -> Draft:
        """The contract with ``extensions.dq_suggest``: source, suggested, skipped, dropped."""
        note: dict[str, JsonValue] = {
            "source": self.source,
            "suggested": list(self.suggested),
            "skipped": list(self.skipped),
            "dropped": list(self.dropped),
        }
        extensions = {**self.contract.extensions, EXTENSION: note}
        written = to_authoring(self.contract.model_copy(update={"extensions": extensions}))
        return replace(self, contract=DataContract.model_validate(written))  # as the file will say it

    def without(self, failures: Mapping[str, str], untyped: Mapping[str, str]) -> Draft:
        """The draft less the suggested bindings in ``failures`` (id -> why), with the added columns in
        ``untyped`` (name -> why) back to text and their ranges dropped (a range needs the type)."""
        spec = self.contract.dataset(self.dataset)
        gone = {ident: why for ident, why in failures.items() if ident in self.suggested}
        for binding in spec.bindings:
            ranged = binding.check is not None and binding.check.type == "range"
            if ranged and binding.id in self.suggested and set(binding.columns) & untyped.keys():
                gone.setdefault(str(binding.id), "a range needs the type, and the column is text now")
        columns = tuple(
            c.model_copy(
                update={"logical_type": LogicalType.STRING, "description": _suggested(f"text ({untyped[c.name]})")}
            )
            if c.name in untyped
            else c
            for c in spec.columns
        )
        bindings = tuple(b for b in spec.bindings if b.id not in gone)
        contract = _with_dataset(self.contract, spec.model_copy(update={"columns": columns, "bindings": bindings}))
        notes = (
            *self.dropped,
            *(f"type of {name}: {why}" for name, why in untyped.items()),
            *(f"{ident}: {why}" for ident, why in gone.items()),
        )
        suggested = tuple(i for i in self.suggested if i not in gone)
        return replace(self, contract=contract, suggested=suggested, dropped=notes).stamped()


def logical_type_of(dtype: str) -> LogicalType:
    """The logical type of a polars type, as the profile names it (``Int64``, ``Datetime(...)``)."""
    prefixes = (
        (("Int", "UInt"), LogicalType.INTEGER),
        (("Float",), LogicalType.NUMBER),
        (("Decimal",), LogicalType.DECIMAL),
        (("Boolean",), LogicalType.BOOLEAN),
        (("Datetime",), LogicalType.TIMESTAMP),
        (("Date",), LogicalType.DATE),
        (("Time",), LogicalType.TIME),
        (("List", "Array"), LogicalType.ARRAY),
        (("Struct",), LogicalType.OBJECT),
    )
    return next((logical for starts, logical in prefixes if dtype.startswith(starts)), LogicalType.STRING)


COVERED_BY: dict[str, frozenset[str]] = {
    "not_null": frozenset({"not_null"}),
    "unique": frozenset({"unique"}),
    "range": frozenset({"range", "date_range"}),
    "in_set": frozenset({"in_set", "code_list"}),
    "regex": frozenset({"regex", "in_set", "code_list"}),
    "row_count": frozenset({"row_count"}),
}
"""A suggestion of the key's type is left out when the base already has a rule of one of these types on the column
(``row_count``: on the dataset)."""

_RANGED = frozenset(
    {LogicalType.INTEGER, LogicalType.NUMBER, LogicalType.DECIMAL, LogicalType.DATE, LogicalType.TIMESTAMP}
)
_UNIQUE_TYPES = frozenset({LogicalType.STRING, LogicalType.INTEGER})


def _n(count: int) -> str:
    return f"{count:,}"


def _suggested(text: str) -> str:
    return f"suggested: {text}"


def _markers_count(found: Mapping[str, int]) -> str:
    ordered = sorted(found.items(), key=lambda item: (-item[1], item[0]))
    return " and ".join(f"{_n(count)} {marker}" for marker, count in ordered)


def _markers_step(markers: Iterable[str]) -> str:
    return "{type: null_values, values: [" + ", ".join(f"'{m}'" for m in sorted(set(markers))) + "]}"


def _markers_text(found: Mapping[str, int]) -> str:
    """``8,255 NA, a missing-value marker: the cleansing step {type: null_values, ...} empties them``."""
    return f"{_markers_count(found)}, a missing-value marker: the cleansing step {_markers_step(found)} empties them"


def marker_notes(draft: Draft) -> list[str]:
    """What ``dq suggest`` prints about missing-value markers: one line, the columns and the step."""
    columns = draft.markers
    if not columns:
        return []
    listed = ", ".join(f"{name} ({_markers_count(counts)})" for name, counts in columns.items())
    markers = [str(marker) for counts in columns.values() for marker in counts]
    return [
        f"{len(columns)} column(s) hold missing-value markers: {listed}; empty them with the cleansing step"
        f" {_markers_step(markers)} before a cast or a deduplicate (docs/cleansing.md)"
    ]


def _values_text(column: ColumnProfile, limit: int = 5) -> str:
    counts = column.value_counts or []
    shown = ", ".join(f"{c.value} {_n(c.count)}" for c in counts[:limit])
    return shown + (f", ... ({len(counts) - limit} more)" if len(counts) > limit else "")


def _coded(column: ColumnProfile, logical: LogicalType) -> bool:
    """A text column of few values that repeat: a code list is suggested for it."""
    present = column.row_count - column.null_count
    if logical is not LogicalType.STRING or not column.value_counts or present < MIN_VALUES:
        return False
    distinct = len(column.value_counts)
    return distinct <= CODE_LIST_MAX and present >= CODE_LIST_REPEAT * distinct


def _marked(facts: SourceFacts) -> dict[str, dict[str, int]]:
    """The columns holding missing-value markers, less those given a code list: there ``NA`` or ``NONE``
    is one of a few values that repeat, more likely a code (Namibia) than a missing value."""
    kinds = {c.name: c for c in facts.profile.columns}
    return {
        name: found
        for name, found in sorted(facts.shapes.markers.items())
        if name in kinds and not _coded(kinds[name], logical_type_of(kinds[name].dtype))
    }


def _column_rules(
    column: ColumnProfile, logical: LogicalType, shapes: ShapeCounts, *, marked: bool = False
) -> list[tuple[str, RuleCommon]]:
    """(what, rule) for one column, each rule's description naming its statistic (``marked``: it holds
    missing-value markers, so no not_null)."""
    rules: list[tuple[str, RuleCommon]] = []
    present = column.row_count - column.null_count
    if column.null_count == 0 and column.row_count > 0 and not marked:
        text = _suggested(f"0 nulls in {_n(column.row_count)} rows")
        rules.append(("not_null", NotNullRule(type="not_null", description=text, dimension=Dimension.COMPLETENESS)))
    low, high = column.min, column.max
    if logical in _RANGED and isinstance(low, (int, float, str)) and isinstance(high, (int, float, str)):
        text = _suggested(f"observed minimum {low} and maximum {high} in {_n(present)} non-null values")
        params = RangeParams(min=_outward(low, down=True), max=_outward(high, down=False))
        rules.append(("range", RangeRule(type="range", params=params, description=text, dimension=Dimension.VALIDITY)))
    coded = _coded(column, logical)
    if coded and column.value_counts:
        distinct = len(column.value_counts)
        values = tuple(str(c.value) for c in sorted(column.value_counts, key=lambda c: str(c.value)))
        text = _suggested(f"{distinct} distinct values in {_n(present)} non-null values ({_values_text(column)})")
        rule = InSetRule(type="in_set", params=SetParams(values=values), description=text, dimension=Dimension.VALIDITY)
        rules.append(("values", rule))
    if logical is LogicalType.STRING and not coded:
        pattern = _pattern_rule(column.name, shapes)
        if pattern is not None:
            rules.append(("pattern", pattern))
    if logical in _UNIQUE_TYPES and present >= MIN_VALUES and _all_distinct(column, present):
        how = (
            "exact count"
            if column.distinct_exact
            else f"estimated ±{100 * (column.distinct_relative_error or 0):.1f}%, then checked exactly on the file"
        )
        text = _suggested(f"{_n(column.distinct_count)} distinct values in {_n(present)} non-null values ({how})")
        rules.append(("unique", UniqueRule(type="unique", description=text, dimension=Dimension.UNIQUENESS)))
    return rules


def _outward(value: float | str, *, down: bool) -> float | str:
    """A bound as the authoring form keeps it (:data:`FLOAT_DIGITS` significant digits), rounded away from
    the data so that the value seen still passes: -105.79598200000001 is written -105.795982000001."""
    if isinstance(value, str) or value == 0 or not math.isfinite(value):
        return value
    nearest = float(f"{value:.{FLOAT_DIGITS}g}")
    if (nearest <= value) if down else (nearest >= value):
        return nearest
    exact = Decimal(value)
    step = Decimal(1).scaleb(exact.adjusted() - (FLOAT_DIGITS - 1))
    return float(exact.quantize(step, rounding=ROUND_FLOOR if down else ROUND_CEILING))


def _all_distinct(column: ColumnProfile, present: int) -> bool:
    """Every value distinct: exactly so while the profile counts exactly; past that, an estimate within
    :data:`DISTINCT_SIGMAS` standard errors of the values (the draft's check on the file decides)."""
    if column.distinct_exact:
        return column.distinct_count == present
    error = column.distinct_relative_error or 0.0
    return column.distinct_count >= present * (1 - DISTINCT_SIGMAS * error)


def _pattern_rule(name: str, shapes: ShapeCounts) -> RegexRule | None:
    values = shapes.values.get(name, 0)
    if values < MIN_VALUES:
        return None
    for shape in SHAPES:
        matched = shapes.matches.get(name, {}).get(shape.name, 0)
        share = matched / values
        if share >= PATTERN_MIN_SHARE:
            mostly = 1.0 if matched == values else math.floor(share * 1000) / 1000
            text = _suggested(
                f"{_n(matched)} of {_n(values)} non-null values ({100 * share:.1f}%) look like {shape.meaning}"
                f" (shape {shape.name})"
            )
            return RegexRule(
                type="regex",
                params=RegexParams(pattern=shape.pattern),
                mostly=mostly,
                description=text,
                dimension=Dimension.VALIDITY,
            )
    return None


def _volume_rule(rows: int) -> RowCountRule:
    low, high = math.floor(rows * VOLUME_LOW), math.ceil(rows * VOLUME_HIGH)
    band = f"{VOLUME_LOW}x to {VOLUME_HIGH}x of that ({_n(low)} to {_n(high)})"
    text = _suggested(f"{_n(rows)} rows seen; the band is {band}")
    return RowCountRule(
        type="row_count",
        params=RowCountParams(threshold=Threshold(must_be_between=(low, high))),
        severity=Severity.WARNING,
        description=text,
        dimension=Dimension.COMPLETENESS,
    )


def binding_id(column: str, what: str, taken: set[str]) -> str:
    """A readable id, unique among ``taken`` (which it joins): ``{column slug}_{what}``."""
    slug = re.sub(r"[^a-z0-9_]+", "_", column.lower()).strip("_") or "column"
    if not slug[0].isalpha():
        slug = f"c_{slug}"
    stem = f"{slug[: ID_MAX_LENGTH - len(what) - 4]}_{what}"
    ident, counter = stem, 1
    while ident in taken:
        counter += 1
        ident = f"{stem}_{counter}"
    taken.add(ident)
    return ident


def dataset_name(file_name: str) -> str:
    """A dataset id from a file name: ``Customers 2024.csv.gz`` -> ``customers_2024``."""
    stem = file_name.split(".", maxsplit=1)[0] if not file_name.startswith(".") else file_name
    return binding_id(stem, "x", set())[:-2]


def next_version(version: str, taken: Iterable[str]) -> str:
    """The next minor version after ``version`` that is not in ``taken``."""
    numbers = re.match(r"^(\d+)\.(\d+)\.", version)
    major, minor = (int(numbers.group(1)), int(numbers.group(2))) if numbers else (0, 0)
    known = {*taken, version}
    candidate = version
    while candidate in known:
        minor += 1
        candidate = f"{major}.{minor}.0"
    return candidate


def _with_dataset(contract: DataContract, spec: DatasetSpec) -> DataContract:
    datasets = tuple(spec if d.name == spec.name else d for d in contract.datasets)
    return DataContract.model_validate({**contract.model_dump(), "datasets": [d.model_dump() for d in datasets]})


def draft_contract(
    facts: SourceFacts,
    target: DraftTarget,
    *,
    base: DataContract | None = None,
    existing: ResolvedBundle | None = None,
) -> Draft:
    """The draft: without ``base`` a new contract of one dataset; with it, ``base``'s dataset
    ``target.dataset`` extended by the suggestions its resolved rules (``existing``) do not cover."""
    if (base is None) != (existing is None):
        msg = "a base contract comes with its resolved bundle (existing), and only with it"
        raise ValueError(msg)
    profile = facts.profile
    declared = {c.name: c.logical_type for c in existing.dataset.columns} if existing else {}
    have = {(r.rule.type, r.columns) for r in existing.rules} if existing else set()
    spec = base.dataset(target.dataset) if base else None
    taken = {r.id for r in existing.rules} if existing else set()
    taken |= {b.id for b in spec.bindings if b.id} if spec else set()
    columns: list[ColumnSpec] = list(spec.columns) if spec else []
    bindings: list[RuleBinding] = list(spec.bindings) if spec else []
    suggested: list[str] = []
    added: list[str] = []
    skipped: list[str] = []

    def covered(kind: str, bound: tuple[str, ...]) -> bool:
        if kind == "row_count":  # on the dataset, whatever it is bound to
            return any(rule_type in COVERED_BY[kind] for rule_type, _ in have)
        return any((other, bound) in have for other in COVERED_BY[kind])

    marked = _marked(facts)
    for column in profile.columns:
        logical = logical_type_of(column.dtype)
        if column.name in declared:
            if declared[column.name] is not logical:
                skipped.append(
                    f"{column.name}: declared {declared[column.name].value}, read as {column.dtype}: no suggestion"
                )
                continue
        else:
            added.append(column.name)
            read_as = f"the values read as {column.dtype}"
            if column.name in marked:
                read_as += f"; {_markers_text(marked[column.name])}"
            columns.append(
                ColumnSpec(
                    name=column.name,
                    logical_type=logical,
                    description=_suggested(f"logical type {logical.value} ({read_as})"),
                )
            )
        for what, rule in _column_rules(column, logical, facts.shapes, marked=column.name in marked):
            if covered(rule.type, (column.name,)):
                continue
            ident = binding_id(column.name, what, taken)
            bindings.append(RuleBinding(id=ident, check=rule, columns=(column.name,)))
            suggested.append(ident)
    if not covered("row_count", ()):
        ident = binding_id("volume", "band", taken)
        bindings.append(RuleBinding(id=ident, check=_volume_rule(profile.row_count)))
        suggested.append(ident)

    source: dict[str, JsonValue] = {
        "file": facts.name,
        "sha256": facts.sha256,
        "rows": profile.row_count,
        "columns": len(profile.columns),
    }
    if marked:
        source["markers"] = {name: dict(sorted(found.items())) for name, found in marked.items()}
    if base is None or spec is None:
        summary = f"{facts.name} ({_n(profile.row_count)} rows, {len(profile.columns)} columns)"
        new_spec = DatasetSpec(
            name=target.dataset, description=f"Profiled from {summary}.", columns=tuple(columns), bindings=()
        )
        contract = DataContract(
            tenant=target.tenant,
            environment=Environment(target.environment),
            id=target.contract_id,
            version=target.version,
            status=Status.DRAFT,
            description=f"Draft suggested by dq suggest from {summary}: review every rule before publishing it.",
            datasets=(new_spec,),
        )
    else:
        contract = base.model_copy(update={"version": target.version, "status": Status.DRAFT})
        new_spec = spec.model_copy(update={"columns": tuple(columns)})
    contract = _with_dataset(contract, new_spec.model_copy(update={"bindings": tuple(bindings)}))
    return Draft(
        contract=contract,
        dataset=target.dataset,
        source=source,
        suggested=tuple(suggested),
        added_columns=tuple(added),
        skipped=tuple(skipped),
        markers=marked,
    ).stamped()
