"""Authored SQL reads only its own table (issue 14, attack 1).

The attack: a tenant's Author wrote a ``custom_sql`` rule ``SELECT COUNT(*) FROM
read_csv('<path>')`` (and the same through ``where`` filters and row expressions), read
another tenant's rows, ``/etc/passwd`` and the token-signing key, and saw file content
come back through error text. Each test below performs one form of it.
"""

# ruff: noqa: S608 - these tests build hostile SQL on purpose

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from pydantic import ValidationError

from dq_core.bundle.models import ResolvedBundle
from dq_core.libraries.cleansing import QuarantineStep
from dq_core.libraries.rules import CustomSqlParams
from dq_core.libraries.sql_guard import SqlRefusedError, check_predicate, check_query
from dq_core.validation.context import ValidationContext
from dq_core.validation.engine import validate
from dq_core.validation.results import RuleStatus
from dq_core.validation.sql_runtime import ForeignScanError, allowed_words, ensure_reads_only, safe_error
from tests.unit.validation_support import bundle_of, check

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
MARKER = "tenant-b-secret-row-4242"

# Every table function and I/O function of polars SQL (polars-sql's table functions), and the
# spellings an attacker tries next.
TABLE_FUNCTIONS = [
    "read_csv",
    "read_parquet",
    "read_ipc",
    "read_json",
    "read_ndjson",
    "read_delta",
    "read_excel",
    "read_database",
    "scan_csv",
    "scan_parquet",
    "scan_ipc",
    "scan_ndjson",
]


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    """Stands in for another tenant's customer rows, /etc/passwd and the signing key."""
    path = tmp_path / "other-tenant.csv"
    path.write_text(f"{MARKER},x\n{MARKER}-2,y\n")
    return path


def _shapes(function: str, path: str) -> list[str]:
    call = f"{function}('{path}')"
    return [
        f"SELECT COUNT(*) FROM {call}",
        f"SELECT COUNT(*) FROM {{object}}, {call}",
        f"SELECT COUNT(*) FROM {{object}} JOIN {call} AS f ON true",
        f"SELECT COUNT(*) FROM {{object}} WHERE n IN (SELECT column_1 FROM {call})",
        f"WITH f AS (SELECT * FROM {call}) SELECT COUNT(*) FROM f",
        f"SELECT n FROM {{object}} UNION ALL SELECT column_1 FROM {call}",
        f"SELECT {call}",
        f"SELECT COUNT(*) FROM {{object}} WHERE {call} IS NOT NULL",
    ]


@pytest.mark.parametrize("function", TABLE_FUNCTIONS)
def test_every_table_and_io_function_is_refused_in_every_position(function: str) -> None:
    for query in _shapes(function, "/etc/passwd"):
        with pytest.raises(SqlRefusedError, match=f"{function}\\(\\) is not allowed"):
            check_query(query)
        with pytest.raises(SqlRefusedError, match=f"{function}\\(\\) is not allowed"):
            check_query(query.replace("{object}", "data"), table="data")
        with pytest.raises(ValidationError, match="SQL refused"):
            CustomSqlParams.model_validate({"query": query, "threshold": {"must_be": 0}})


@pytest.mark.parametrize("function", TABLE_FUNCTIONS)
def test_every_table_and_io_function_is_refused_in_predicates(function: str) -> None:
    for predicate in [
        f"{function}('/etc/passwd') IS NOT NULL",
        f"n IN (SELECT column_1 FROM {function}('/etc/passwd'))",
        f"EXISTS (SELECT 1 FROM {function}('/etc/passwd'))",
    ]:
        with pytest.raises(SqlRefusedError):
            check_predicate(predicate)
        with pytest.raises(ValidationError, match="SQL refused"):
            bundle_of(check("not_null", ["n"], where=predicate))
        with pytest.raises(ValidationError, match="SQL refused"):
            bundle_of(check("row_expression", params={"expression": predicate}))
        with pytest.raises(ValidationError, match="SQL refused"):
            QuarantineStep.model_validate({"type": "quarantine", "predicate": predicate, "reason": "r"})


@pytest.mark.parametrize(
    ("query", "needle"),
    [
        ("SHOW TABLES", "SHOW"),
        ("EXPLAIN SELECT 1", "EXPLAIN"),
        ("COPY data TO '/tmp/x.csv'", "COPY"),
        ("CREATE TABLE x AS SELECT * FROM data", "CREATE"),
        ("DROP TABLE data", "DROP"),
        ("INSERT INTO data VALUES (1)", "INSERT"),
        ("SET x = 1", "SET"),
        ("SELECT 1; SELECT COUNT(*) FROM read_csv('/etc/passwd')", "one statement"),
        ("SELECT COUNT(*) INTO y FROM data", "INTO"),
        ("SELECT COUNT(*) FROM other_schema.data", "qualified table name"),
        ("SELECT COUNT(*) FROM a JOIN b ON a.x = b.x", "reads only its own dataset"),
        ("SELECT $$x$$", "RAWSTRING"),
        ("SELECT my_udf(n) FROM data", "my_udf() is not allowed"),
        ("SELECT COUNT(*) FROM data\x00", "NUL"),
    ],
)
def test_anything_but_one_select_over_one_table_is_refused(query: str, needle: str) -> None:
    with pytest.raises(SqlRefusedError, match=needle.replace("(", "\\(").replace(")", "\\)")):
        check_query(query)


def test_at_run_time_only_the_rules_own_table_may_be_read() -> None:
    check_query("SELECT COUNT(*) FROM customers WHERE n > 1", table="customers")
    with pytest.raises(SqlRefusedError, match="only its own dataset 'customers', not 'orders'"):
        check_query("SELECT COUNT(*) FROM orders", table="customers")


LEGITIMATE = [
    "SELECT COUNT(*) FROM {object} WHERE {property} > 4",
    "SELECT COUNT(DISTINCT s) FROM {object}",
    "SELECT SUM(CASE WHEN n > 2 THEN 1 ELSE 0 END) FROM {object}",
    "SELECT AVG(x) FROM {object} WHERE s LIKE 'a%' AND n BETWEEN 1 AND 5",
    "SELECT MAX(LENGTH(s)) FROM {object}",
    "SELECT COUNT(*) FROM {object} WHERE LOWER(TRIM(s)) = 'a' OR s IS NULL",
    "SELECT COUNT(*) FROM {object} WHERE COALESCE(n, 0) % 2 = 1",
    "SELECT STDDEV(x) FROM {object}",
    "SELECT MEDIAN(n) FROM {object}",
    "SELECT ROUND(ABS(MIN(x)), 1) FROM {object}",
    "SELECT COUNT(*) FROM {object} WHERE CAST(n AS DOUBLE) > x",
    "SELECT COUNT(*) FROM {object} WHERE n IN (SELECT n FROM {object} WHERE x > 1)",
    "WITH big AS (SELECT * FROM {object} WHERE n > 1) SELECT COUNT(*) FROM big",
    "SELECT COUNT(*) FROM (SELECT n, COUNT(*) AS c FROM {object} GROUP BY n HAVING COUNT(*) > 1) AS dup",
    "SELECT COUNT(*) FROM {object} WHERE s ~ '^[a-z]+$'",
    "SELECT COUNT(*) FROM {object} WHERE STARTS_WITH(s, 'a') OR ENDS_WITH(s, 'z')",
    "SELECT COUNT(*) FROM {object} WHERE EXTRACT(YEAR FROM d) >= 2020",
    "SELECT COUNT(*) FROM {object} WHERE DATE_PART('year', d) >= 2020",
]


@pytest.mark.parametrize("query", LEGITIMATE)
def test_legitimate_queries_pass_the_guard_and_run_in_polars(query: str) -> None:
    CustomSqlParams.model_validate({"query": query, "threshold": {"must_be_greater_than": -1}})
    rows = {
        "n": [1, 2, 3, 3],
        "x": [0.5, 1.5, 2.5, 3.5],
        "s": ["a", "b", None, "abz"],
        "code": ["x"] * 4,
        "d": [datetime(2021, 1, 1).date()] * 4,
        "d2": [None] * 4,
    }
    frame = pl.DataFrame(rows)
    result = validate(
        frame,
        bundle_of(check("custom_sql", ["n"], params={"query": query, "threshold": {"must_be_greater_than": -1}})),
        ValidationContext(now=NOW),
    ).rules[0]
    assert result.status is RuleStatus.PASSED, result.error


def _with_query(bundle: ResolvedBundle, query: str) -> ResolvedBundle:
    """A bundle whose rule carries ``query`` without validation: what a row stored before the
    guard existed (or written to the registry by other means) would give the engine."""
    resolved = bundle.rules[0]
    params = resolved.rule.params.model_copy(update={"query": query})
    rule = resolved.rule.model_copy(update={"params": params})
    return bundle.model_copy(update={"rules": (resolved.model_copy(update={"rule": rule}),)})


def _sql_bundle() -> ResolvedBundle:
    return bundle_of(
        check("custom_sql", params={"query": "SELECT COUNT(*) FROM {object}", "threshold": {"must_be": 0}})
    )


@pytest.mark.parametrize("function", ["read_csv", "read_parquet", "read_ipc", "read_json"])
def test_a_hostile_query_that_got_past_authoring_is_refused_at_run_time(secret_file: Path, function: str) -> None:
    frame = pl.DataFrame({"n": [1, 2]})
    for query in [
        f"SELECT COUNT(*) FROM {function}('{secret_file}')",
        f"SELECT COUNT(*) FROM {{object}} WHERE n IN (SELECT column_1 FROM {function}('{secret_file}'))",
        f"SELECT COUNT(*) FROM {{object}} WHERE n IN (SELECT nope FROM read_csv('{secret_file}'))",
    ]:
        result = validate(frame, _with_query(_sql_bundle(), query), ValidationContext(now=NOW)).rules[0]
        assert result.status is RuleStatus.ERROR
        assert "custom SQL refused" in (result.error or "")
        assert MARKER not in json.dumps(result.model_dump(mode="json"))


def test_the_plan_check_refuses_a_foreign_scan_that_the_parser_never_saw(secret_file: Path) -> None:
    """Defence in depth: whatever a parser difference lets through, a plan that scans a
    source its input frame does not scan is refused before it runs."""
    own = pl.LazyFrame({"n": [1, 2]})
    hostile = pl.SQLContext({"data": own}, eager=False).execute(f"SELECT * FROM data, read_csv('{secret_file}')")
    with pytest.raises(ForeignScanError, match="csv source other than the rule's own data"):
        ensure_reads_only(hostile, own)
    ensure_reads_only(own.select(pl.len()), own)
    parquet = secret_file.with_suffix(".parquet")
    pl.DataFrame({"n": [1]}).write_parquet(parquet)
    scanned = pl.scan_parquet(parquet)
    ensure_reads_only(pl.SQLContext({"data": scanned}, eager=False).execute("SELECT COUNT(*) FROM data"), scanned)


def test_errors_quote_only_what_the_author_wrote_or_the_schema_holds() -> None:
    leaked = pl.exceptions.ColumnNotFoundError(f'unable to find column "column_1"; valid columns: ["{MARKER}"]')
    text = safe_error(leaked, allowed=allowed_words("SELECT column_1 FROM data"))
    assert text == 'ColumnNotFoundError: unable to find column "column_1"'
    cast = pl.exceptions.InvalidOperationError(
        f"conversion from `str` to `i64` failed in column 'n' for 1 out of 2 values: [\"{MARKER}\"]"
    )
    text = safe_error(cast, allowed=["n"])
    assert MARKER not in text and "column 'n'" in text and "`str`" in text


def test_a_failing_expression_does_not_echo_the_values_that_broke_it() -> None:
    frame = pl.DataFrame({"n": [1, 2], "s": [MARKER, "2"]})
    bundle = bundle_of(
        check("row_expression", params={"expression": "CAST(s AS INTEGER) > 0"}),
        columns=[{"name": "n", "logical_type": "integer"}, {"name": "s", "logical_type": "string"}],
    )
    result = validate(frame, bundle, ValidationContext(now=NOW)).rules[0]
    assert result.status is RuleStatus.ERROR
    assert MARKER not in (result.error or ""), result.error


def _payload(**fields: Any) -> dict[str, Any]:
    return {"query": "SELECT COUNT(*) FROM {object}", "threshold": {"must_be": 0}, **fields}


def test_the_guard_is_part_of_the_model_so_every_loader_applies_it() -> None:
    CustomSqlParams.model_validate(_payload())
    with pytest.raises(ValidationError, match="read_csv"):
        CustomSqlParams.model_validate(_payload(query="SELECT COUNT(*) FROM read_csv('/etc/passwd')"))


@pytest.mark.parametrize(
    "predicate",
    ["amount > 10 * AVG(amount)", "updated = MAX(updated)", "COUNT(*) > 1", "ROW_NUMBER() OVER (ORDER BY n) = 1"],
)
def test_a_predicate_over_several_rows_is_refused(predicate: str) -> None:
    """A run evaluates row predicates chunk by chunk: an aggregate would be each chunk's, not the dataset's."""
    with pytest.raises(SqlRefusedError, match="row by row"):
        check_predicate(predicate)
    with pytest.raises(ValidationError, match="SQL refused"):
        QuarantineStep.model_validate({"type": "quarantine", "predicate": predicate, "reason": "r"})
    check_predicate("amount > 10 AND ABS(n) < 3")  # functions of the row's own values stay allowed
