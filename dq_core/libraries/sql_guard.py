"""What authored SQL may say: a SELECT over the rule's own table, and an allow-list.

Rules and cleansing steps carry SQL that polars runs: custom SQL queries, row
expressions, ``where`` filters, quarantine predicates. Polars SQL can also read
files (``read_csv('/etc/passwd')``, ``read_parquet``, ...), so SQL written by a tenant
would otherwise read any file the server can. Every piece of authored SQL is parsed
with sqlglot and accepted only when *every* node of its tree is on an allow-list:
plain columns, literals, operators, the aggregate and scalar functions below, and
tables that are the rule's own dataset (or a CTE defined in the same query). Table
functions, file access, DDL/DML, ``SHOW``, ``COPY``, ``INTO``, qualified table names
and unknown functions are refused, at authoring time (the models' validators: ``dq
libraries check`` and the API's create draft) and again at run time, where the
validation engine also checks the polars plan itself (:mod:`dq_core.validation.sql_runtime`).

A refusal names what was refused and never repeats data: the only text it quotes is
taken from the SQL itself.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlglot import exp

OBJECT_PLACEHOLDER = "{object}"
PROPERTY_PLACEHOLDER = "{property}"
_OBJECT_STANDIN = "__dq_object__"
_PROPERTY_STANDIN = "__dq_property__"
_DIALECT = "postgres"  # polars SQL follows PostgreSQL's syntax
MAX_SQL_LENGTH = 20_000

# Structure: what a query or a predicate may be built from.
_STRUCTURE = frozenset(
    {
        "Select", "Union", "Intersect", "Except", "Subquery", "With", "CTE", "From", "Join", "Where", "Group",
        "Having", "Order", "Ordered", "Limit", "Offset", "Distinct", "Alias", "TableAlias", "Table", "Column",
        "Identifier", "Star", "Literal", "Null", "Boolean", "DataType", "DataTypeParam", "Var", "Interval",
        "Tuple", "Paren", "Window", "WindowSpec", "Filter", "Qualify",
        # operators
        "And", "Or", "Not", "Neg", "EQ", "NEQ", "NullSafeEQ", "NullSafeNEQ", "GT", "GTE", "LT", "LTE", "Is", "In",
        "Between", "Like", "ILike", "SimilarTo", "RegexpLike", "RegexpILike", "Add", "Sub", "Mul", "Div", "IntDiv",
        "Mod", "DPipe", "Case", "If", "Cast", "TryCast", "Exists",
    }
)  # fmt: skip

# Functions: aggregates and scalars with no access to anything but their arguments.
_FUNCTIONS = frozenset(
    {
        # aggregates
        "Count", "CountIf", "Sum", "Avg", "Min", "Max", "Median", "Stddev", "StddevPop", "StddevSamp", "Variance",
        "VariancePop", "PercentileCont", "PercentileDisc", "Quantile", "ApproxDistinct", "AnyValue", "First", "Last",
        "LogicalAnd", "LogicalOr", "Corr", "CovarPop", "CovarSamp", "ArrayAgg", "GroupConcat", "RowNumber", "Rank",
        "DenseRank", "Lag", "Lead", "FirstValue", "LastValue",
        # numbers
        "Abs", "Round", "Ceil", "Floor", "Trunc", "Sign", "Sqrt", "Cbrt", "Exp", "Ln", "Log", "Pow", "Pi", "IsNan",
        "IsInf", "Cos", "Sin", "Tan", "Acos", "Asin", "Atan", "Atan2", "Degrees", "Radians", "Greatest", "Least",
        # null handling
        "Coalesce", "Nullif",
        # strings
        "Lower", "Upper", "Length", "BitLength", "Trim", "Substring", "Replace", "RegexpReplace", "RegexpExtract",
        "Concat", "ConcatWs", "StartsWith", "EndsWith", "StrPosition", "Left", "Right", "Reverse", "Initcap", "Pad",
        "Repeat", "Split", "SplitPart", "Array",
        # dates and times
        "CurrentDate", "CurrentTimestamp", "CurrentTime", "Date", "Timestamp", "Extract", "DatePart", "DateTrunc",
        "TimestampTrunc", "StrToDate", "StrToTime", "TimeToStr", "UnixToTime", "DateDiff", "DateAdd", "DateSub",
        "ToChar",
    }
)  # fmt: skip

# Functions polars SQL knows and sqlglot leaves anonymous (lower case).
_ANONYMOUS = frozenset(
    {
        "octet_length", "char_length", "character_length", "quantile_cont", "quantile_disc", "strftime", "strptime",
        "date_part", "log1p", "log2", "log10", "cot", "regexp_like", "len", "nullif", "ifnull", "nvl", "ltrim",
        "rtrim", "btrim", "lpad", "rpad", "strpos", "substr", "normalize", "stddev", "variance", "array_length",
        "timestamp", "date", "time", "ends_with", "starts_with",
    }
)  # fmt: skip


class SqlRefusedError(ValueError):
    """Authored SQL that does more than read its own table (one line, names what was refused)."""


class SqlSyntaxError(SqlRefusedError):
    """Authored SQL that cannot be parsed at all."""


def check_query(sql: str, *, table: str | None = None) -> None:
    """Refuse a custom SQL query unless it is one SELECT over one table.

    ``table`` is the rule's own dataset (run time): every table the query reads must be
    it (or a CTE). Without it (authoring time, where a rule library does not know its
    dataset), the query may read one table, named or ``{object}``.
    """
    statement = _parse(_substitute(sql), what="query")
    if type(statement).__name__ not in {"Select", "Union", "Intersect", "Except"}:
        raise SqlRefusedError(f"a custom SQL rule must be one SELECT, not {_kind(statement)}")
    read = _check_tree(statement, allow_tables=True)
    if table is None:
        if len({name.lower() for name in read}) > 1:
            raise SqlRefusedError(f"a custom SQL rule reads only its own dataset, this query names {sorted(read)}")
        return
    own = {table.lower(), _OBJECT_STANDIN}
    others = sorted(name for name in read if name.lower() not in own)
    if others:
        raise SqlRefusedError(f"a custom SQL rule reads only its own dataset {table!r}, not {others[0]!r}")


def check_predicate(sql: str) -> None:
    """Refuse a row predicate (``where``, row expression, quarantine) that is more than an expression
    over the row's own columns: no subquery, no table, no function off the allow-list."""
    statement = _parse(sql, what="predicate")
    if type(statement).__name__ in {"Select", "Union", "Intersect", "Except", "Command"} or _is_statement(statement):
        raise SqlRefusedError(f"a predicate must be an expression over the row's columns, not {_kind(statement)}")
    _check_tree(statement, allow_tables=False)
    from sqlglot import exp  # noqa: PLC0415

    for node in statement.walk():
        if isinstance(node, (exp.AggFunc, exp.Window)):
            what = "a window" if isinstance(node, exp.Window) else f"{_function_name(node)}()"
            raise SqlRefusedError(
                f"a predicate is evaluated row by row (chunk by chunk in a run): {what} over rows is not allowed"
            )


def _substitute(sql: str) -> str:
    return sql.replace(OBJECT_PLACEHOLDER, _OBJECT_STANDIN).replace(PROPERTY_PLACEHOLDER, _PROPERTY_STANDIN)


def _parse(sql: str, *, what: str) -> exp.Expr:
    import sqlglot  # noqa: PLC0415 - imported only when authored SQL is checked
    from sqlglot.errors import SqlglotError  # noqa: PLC0415

    if len(sql) > MAX_SQL_LENGTH:
        raise SqlRefusedError(f"the {what} is longer than {MAX_SQL_LENGTH:,} characters")
    if "\x00" in sql:
        raise SqlRefusedError(f"the {what} contains a NUL character")
    logging.getLogger("sqlglot").setLevel(logging.ERROR)  # "falling back to Command" is refused below anyway
    try:
        statements = [tree for tree in sqlglot.parse(sql, read=_DIALECT) if tree is not None]
    except SqlglotError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SqlSyntaxError(f"the {what} cannot be parsed: {first[:160]}") from None
    if len(statements) != 1:
        raise SqlRefusedError(f"the {what} must be one statement, it has {len(statements)}")
    return statements[0]


def columns_read(sql: str) -> frozenset[str] | None:
    """The column names an allowed query or predicate reads; None when it reads every column (``*``).

    Used to read only those columns of a dataset; a text that does not parse reads everything
    (it fails as its rule's error anyway)."""
    from sqlglot import exp as nodes  # noqa: PLC0415 - imported only when authored SQL is read

    try:
        tree = _parse(_substitute(sql), what="query")
    except SqlRefusedError:
        return None
    if any(not isinstance(star.parent, nodes.Count) for star in tree.find_all(nodes.Star)):
        return None  # select *: every column (count(*) reads none)
    return frozenset(column.name for column in tree.find_all(nodes.Column))


def _is_statement(node: exp.Expr) -> bool:
    from sqlglot import exp  # noqa: PLC0415

    return isinstance(node, (exp.DDL, exp.DML, exp.Command, exp.Query))


def _kind(node: exp.Expr) -> str:
    key = node.key.upper() if node.key else type(node).__name__.upper()
    if key == "COMMAND":
        words = str(node.this).split()
        return words[0].upper() if words else key
    return key


def _check_tree(root: exp.Expr, *, allow_tables: bool) -> set[str]:
    """Every node allowed; returns the names of the tables read (CTE names excluded)."""
    from sqlglot import exp  # noqa: PLC0415

    ctes = {cte.alias_or_name.lower() for cte in root.find_all(exp.CTE)}
    tables: set[str] = set()
    for node in root.walk():
        kind = type(node).__name__
        if isinstance(node, exp.Anonymous):
            name = str(node.name).lower()
            if name not in _ANONYMOUS:
                raise SqlRefusedError(f"function {name}() is not allowed in authored SQL")
            continue
        if isinstance(node, exp.Table):
            tables.update(_table_name(node, ctes, allow_tables=allow_tables))
            continue
        if kind in _STRUCTURE or kind in _FUNCTIONS:
            if isinstance(node, (exp.Subquery, exp.Exists, exp.Select)) and not allow_tables:
                raise SqlRefusedError("a predicate may not contain a subquery")
            continue
        if isinstance(node, exp.Func):
            raise SqlRefusedError(f"function {_function_name(node)}() is not allowed in authored SQL")
        raise SqlRefusedError(f"{node.key.upper()} is not allowed in authored SQL")
    return tables


def _table_name(node: exp.Table, ctes: Iterable[str], *, allow_tables: bool) -> set[str]:
    from sqlglot import exp  # noqa: PLC0415

    if not isinstance(node.this, exp.Identifier):
        inner = node.this
        label = f"{_function_name(inner)}()" if isinstance(inner, exp.Func) else inner.key.upper()
        raise SqlRefusedError(f"table function {label} is not allowed: a rule reads only its own dataset")
    if not allow_tables:
        raise SqlRefusedError("a predicate may not read a table")
    if node.args.get("db") or node.args.get("catalog"):
        raise SqlRefusedError(f"qualified table name {node.sql()!r} is not allowed: a rule reads only its own dataset")
    name = str(node.name)
    return set() if name.lower() in ctes else {name}


def _function_name(node: exp.Expr) -> str:
    from sqlglot import exp  # noqa: PLC0415

    if isinstance(node, exp.Anonymous):
        return str(node.name).lower()
    if isinstance(node, exp.Func):
        return node.sql_name().lower()
    return node.key
