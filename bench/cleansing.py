"""The cleansing half of the benchmark: our engine with the demo policy (adapted to the
benchmark's columns) against a hand-written polars pipeline doing the same work.

Both start from the same frame of text columns (as guarded ingest reads a CSV) and
call the same libraries (phonenumbers, email-validator, hashlib) once per distinct
value; the difference is the engine's bookkeeping: reasons per rejected row, metrics
and profile deltas per step, survivorship report.
"""

from __future__ import annotations

import hashlib
from typing import Any

import phonenumbers
import polars as pl
from email_validator import EmailNotValidError, validate_email

from bench.generate import COUNTRIES

SALT = b"bench-salt-0123456789"
NAMES = {"GB": ["United Kingdom", "UK", "England"], "DE": ["Germany", "Deutschland"], "NO": ["Norway", "Norge"]}
POLICY: list[dict[str, Any]] = [
    {"type": "trim"},
    {"type": "case", "columns": ["email"], "mode": "lower"},
    {"type": "email", "columns": ["email"], "on_error": "reject"},
    {"type": "phone", "columns": ["phone"], "default_region": "GB", "on_error": "set_null"},
    {"type": "map_values", "columns": ["country_code"], "code_list": "iso_country", "unmapped": "reject"},
    {
        "type": "parse_dates",
        "columns": ["signup_date", "birth_date"],
        "formats": ["%Y-%m-%d", "%d/%m/%Y"],
        "on_error": "reject",
    },
    {"type": "cast", "columns": ["balance"], "logical_type": "number", "on_error": "reject"},
    {
        "type": "deduplicate",
        "key": ["customer_id"],
        "survivorship": "most_recent",
        "order_column": "signup_date",
        "field_level": True,
    },
    {"type": "impute", "columns": ["balance"], "strategy": "constant", "value": 0},
    {"type": "quarantine", "predicate": "customer_id IS NULL", "reason": "no customer number"},
    {"type": "mask"},
]
TYPES = {"age": "integer", "balance": "number", "birth_date": "date", "signup_date": "date"}


def bundle() -> Any:
    from dq_core.bundle.resolve import resolve_bundle
    from dq_core.config.index import InMemoryConfigIndex
    from dq_core.config.objects import CONFIG_OBJECT_ADAPTER

    header = {"tenant": "bench", "environment": "dev", "version": "1.0.0"}
    columns = [
        "customer_id",
        "first_name",
        "last_name",
        "birth_date",
        "country_code",
        "age",
        "balance",
        "status",
        "signup_date",
        "email",
        "phone",
    ]
    codes = [{"code": code, "synonyms": NAMES.get(code, [])} for code in COUNTRIES]
    objects = [
        {**header, "kind": "cleansing_policy", "id": "policy", "steps": POLICY},
        {**header, "kind": "schema_library", "id": "ref", "code_lists": [{"id": "iso_country", "codes": codes}]},
        {
            **header,
            "kind": "governance_profile",
            "id": "gov",
            "classifications": [
                {"attribute": "customer.email", "classification": "pii", "masking": "hash"},
                {"attribute": "customer.phone", "classification": "pii", "masking": "partial"},
            ],
        },
        {
            **header,
            "kind": "catalog",
            "id": "cat",
            "entities": [{"id": "customer", "attributes": [{"id": "email"}, {"id": "phone"}]}],
        },
        {
            **header,
            "kind": "contract",
            "id": "customers",
            "cleansing_policy": "policy@1.0.0",
            "schema_libraries": ["ref@1.0.0"],
            "governance_profile": "gov@1.0.0",
            "catalog": "cat@1.0.0",
            "datasets": [
                {
                    "name": "customers",
                    "columns": [
                        {
                            "name": c,
                            "logical_type": TYPES.get(c, "string"),
                            **({"attribute": f"customer.{c}"} if c in ("email", "phone") else {}),
                        }
                        for c in columns
                    ],
                }
            ],
        },
    ]
    index = InMemoryConfigIndex()
    parsed = [CONFIG_OBJECT_ADAPTER.validate_python(o) for o in objects]
    for obj in parsed:
        index.add(obj, obj.id)
    return resolve_bundle(index, parsed[-1])  # type: ignore[arg-type]


def text_frame(path: Any) -> pl.DataFrame:
    """The CSV as guarded ingest would read it: every column text, plus the source row."""
    return (
        pl.read_csv(path, infer_schema=False)
        .with_row_index("_dq_source_row")
        .with_columns(pl.col("_dq_source_row").cast(pl.Int64))
    )


def ours(frame: pl.DataFrame, prepared: Any) -> dict[str, int]:
    from dq_core.cleansing.context import CleansingContext
    from dq_core.cleansing.engine import cleanse

    report = cleanse(frame, CleansingContext(bundle=prepared, salt=SALT)).report
    return {
        "rows_out": report.rows_out,
        "rows_rejected": report.rows_rejected,
        "duplicates_removed": report.duplicates_removed,
    }


def _distinct(series: pl.Series, convert: Any) -> pl.Series:
    answers = {v: convert(v) for v in series.drop_nulls().unique().to_list()}
    return series.replace_strict(answers, default=None, return_dtype=pl.String)


def _email(value: str) -> str | None:
    try:
        return validate_email(value.strip(), check_deliverability=False).normalized
    except EmailNotValidError:
        return None


def _phone(value: str) -> str | None:
    try:
        number = phonenumbers.parse(value, "GB")
    except phonenumbers.NumberParseException:
        return None
    return (
        phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        if phonenumbers.is_valid_number(number)
        else None
    )


def floor(frame: pl.DataFrame) -> dict[str, int]:
    text = [c for c in frame.columns if c != "_dq_source_row"]
    df = frame.with_columns(
        pl.when(pl.col(c).str.strip_chars().str.replace_all(r"\s+", " ") != "").then(
            pl.col(c).str.strip_chars().str.replace_all(r"\s+", " ")
        )
        for c in text
    ).with_columns(pl.col("email").str.to_lowercase())
    rejected = 0
    email = _distinct(df["email"], _email)
    bad = df["email"].is_not_null() & email.is_null()
    df = df.with_columns(email.alias("email")).filter(~bad)
    rejected += int(bad.sum())
    df = df.with_columns(_distinct(df["phone"], _phone).alias("phone"))
    mapping = {s.casefold(): code for code in COUNTRIES for s in (code, *NAMES.get(code, []))}
    country = df["country_code"].str.to_lowercase().replace_strict(mapping, default=None, return_dtype=pl.String)
    bad = df["country_code"].is_not_null() & country.is_null()
    df = df.with_columns(country.alias("country_code")).filter(~bad)
    rejected += int(bad.sum())
    dates = {
        c: pl.coalesce(pl.col(c).str.strptime(pl.Date, f, strict=False) for f in ("%Y-%m-%d", "%d/%m/%Y"))
        for c in ("signup_date", "birth_date")
    }
    parsed = df.select(**dates)
    bad = (df["signup_date"].is_not_null() & parsed["signup_date"].is_null()) | (
        df["birth_date"].is_not_null() & parsed["birth_date"].is_null()
    )
    df = df.with_columns(parsed).with_columns(pl.col("balance").cast(pl.Float64, strict=False)).filter(~bad)
    rejected += int(bad.sum())
    before = df.height
    others = [c for c in text if c != "customer_id"]
    df = (
        df.sort([pl.col("signup_date").is_null(), "signup_date", "_dq_source_row"], descending=[False, True, False])
        .with_columns(pl.col(c).drop_nulls().first().over("customer_id") for c in others)
        .unique("customer_id", keep="first", maintain_order=True)
        .sort("_dq_source_row")
    )
    duplicates = before - df.height
    df = df.with_columns(pl.col("balance").fill_null(0.0)).filter(pl.col("customer_id").is_not_null())
    hashed = _distinct(df["email"], lambda v: "sha256:" + hashlib.sha256(SALT + v.encode()).hexdigest())
    df = df.with_columns(
        hashed.alias("email"),
        pl.col("phone").str.slice(-4).str.pad_start(pl.col("phone").str.len_chars(), "*"),
        pl.col("age").cast(pl.Int64, strict=False),
    )
    return {"rows_out": df.height, "rows_rejected": rejected, "duplicates_removed": duplicates}
