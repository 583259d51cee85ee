"""Seeded synthetic customers with planted defects, as CSV and Parquet.

    python bench/generate.py --rows 2000000 --out bench/data

Defects (fractions of rows): duplicate customer ids 0.5 %, malformed e-mails 2 %,
malformed phones 2 %, invalid country codes 1 %, invalid status codes 1 %, ages out of
0..120 1 %, null balances 1.5 %, signup dates in the future 0.5 %, and repeated
first name + last name + birth date 0.3 %.

``crm_customers`` is another extract, shaped for the demo tenant's ``customers`` contract
(libraries/contoso/dev), that the orchestration benchmark (bench/orchestration.py) runs
through ``dq run``.
"""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

COUNTRIES = [
    "GB",
    "US",
    "DE",
    "FR",
    "NL",
    "NO",
    "SE",
    "DK",
    "ES",
    "IT",
    "PT",
    "IE",
    "BE",
    "AT",
    "CH",
    "PL",
    "FI",
    "CA",
    "AU",
    "NZ",
]
STATUSES = ["active", "inactive", "suspended", "closed"]
FIRST = [
    "Alice",
    "Bob",
    "Carla",
    "Dieter",
    "Emma",
    "Farid",
    "Grace",
    "Henk",
    "Isabel",
    "Jack",
    "Karin",
    "Liam",
    "Maria",
    "Noah",
]
LAST = [
    "Martin",
    "Jones",
    "Diaz",
    "Braun",
    "Olsen",
    "Petit",
    "Lee",
    "Vries",
    "Costa",
    "Brown",
    "Schmidt",
    "Garcia",
    "Smith",
]
TODAY = date(2026, 11, 25)


def customers(rows: int, seed: int = 42) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    ids = np.arange(1, rows + 1)
    dup = rng.random(rows) < 0.005
    ids[dup] = rng.integers(1, rows + 1, dup.sum())
    first = np.array(FIRST)[rng.integers(0, len(FIRST), rows)]
    last = np.array(LAST)[rng.integers(0, len(LAST), rows)]
    birth = (np.datetime64("1940-01-01") + rng.integers(0, 365 * 65, rows)).astype("datetime64[D]")
    twins = np.flatnonzero(rng.random(rows) < 0.003)
    sources = rng.integers(0, rows, twins.size)
    first[twins], last[twins], birth[twins] = first[sources], last[sources], birth[sources]
    country = np.array(COUNTRIES)[rng.integers(0, len(COUNTRIES), rows)].astype(object)
    country[rng.random(rows) < 0.01] = "XX"
    status = np.array(STATUSES)[rng.integers(0, len(STATUSES), rows)].astype(object)
    status[rng.random(rows) < 0.01] = "unknown"
    age = rng.integers(18, 95, rows)
    bad_age = rng.random(rows) < 0.01
    age[bad_age] = rng.choice([-1, 130, 150], bad_age.sum())
    balance = np.round(rng.gamma(2.0, 500.0, rows), 2)
    signup = (np.datetime64("2010-01-01") + rng.integers(0, (TODAY - date(2010, 1, 1)).days, rows)).astype(
        "datetime64[D]"
    )
    future = rng.random(rows) < 0.005
    signup[future] = np.datetime64(TODAY) + rng.integers(1, 400, future.sum())
    frame = pl.DataFrame(
        {
            "customer_id": "C" + pl.Series(ids).cast(pl.String).str.zfill(9),
            "first_name": first,
            "last_name": last,
            "birth_date": birth,
            "country_code": country.astype(str),
            "age": age,
            "balance": balance,
            "status": status.astype(str),
            "signup_date": signup,
        }
    )
    digits = pl.Series(rng.integers(10**8, 10**10, rows)).cast(pl.String)
    local = (
        pl.Series(first).str.to_lowercase()
        + "."
        + pl.Series(last).str.to_lowercase()
        + pl.Series(ids % 997).cast(pl.String)
    )
    bad_email = pl.Series(rng.random(rows) < 0.02)
    bad_phone = pl.Series(rng.random(rows) < 0.02)
    null_balance = pl.Series(rng.random(rows) < 0.015)
    return frame.with_columns(
        email=pl.when(bad_email).then(local + "@example").otherwise(local + "@example.com"),
        phone=pl.when(bad_phone).then("0" + digits).otherwise("+44" + digits),
        balance=pl.when(null_balance).then(None).otherwise(pl.col("balance")),
    )


# --- a CRM extract for the demo tenant's `customers` contract (libraries/contoso/dev) ---------

CRM_COUNTRIES = ["GB", "US", "DE", "FR", "NL", "NO", "ES", "IT", "IE"]  # the contract's iso_country list
CRM_SYNONYMS = ["United Kingdom", "UK", "England", "USA", "Deutschland", "Holland", "Norge", "España", "Italia"]
SEGMENTS = ["retail", "business", "public_sector"]
SYSTEMS = ["crm", "erp", "web"]
# Per country: (prefix, groups of random digits); GB and US numbers vary in layout below.
PHONES = {
    "DE": ("+49 30 ", (7,)),
    "FR": ("+33 1 ", (2, 2, 2, 2)),
    "NL": ("+31 20 ", (3, 4)),
    "NO": ("+47 22 ", (2, 2, 2)),
    "ES": ("+34 91 ", (3, 4)),
    "IT": ("+39 06 ", (3, 4)),
    "IE": ("+353 1 ", (3, 4)),
}


def _digits(rng: np.random.Generator, rows: int, width: int) -> pl.Expr:
    return pl.lit(pl.Series(rng.integers(0, 10**width, rows)).cast(pl.String).str.zfill(width))


def crm_customers(rows: int, seed: int = 7) -> pl.DataFrame:
    """A CRM extract for the demo ``customers`` contract, every column text as in a CSV.

    Defects like the sample (libraries/contoso/samples): customer numbers repeated from
    a second system 0.5 % (survivorship), missing 0.1 %, malformed 0.1 %; padded names
    2 %; upper-case e-mails 3 %, malformed 2 %, missing 3 %; phones in national and
    international layouts, 1 % "not available", 2 % missing; country names instead of
    codes 5 %, a country outside the code list 0.5 %; dates in three formats, 0.1 %
    impossible (30 February); signup dates in the future 0.3 %, births after signup
    0.2 %; lifetime values missing 1.5 %, negative 0.3 %, not a number 0.1 %; segments
    outside the code list 2 %. Customer numbers have six digits up to 999,999 and seven
    above (the contract's pattern allows six: beyond a million rows they fail it).
    """
    rng = np.random.default_rng(seed)
    draw = rng.random

    def pick(values: list[str], probabilities: list[float] | None = None) -> pl.Series:
        return pl.Series(np.array(values)[rng.choice(len(values), rows, p=probabilities)])

    number = np.arange(1, rows + 1)
    again = draw(rows) < 0.005
    number[again] = rng.integers(1, rows + 1, again.sum())
    first = pick([*FIRST, "Olivia", "Pieter", "Quinn", "Rosa", "François", "María"])
    last = pick([*LAST, "Wilson", "Jansen", "Taylor", "Bianchi", "O'Brien", "de Vries"])
    country = pick(CRM_COUNTRIES, [0.4, 0.2, 0.1, 0.08, 0.06, 0.04, 0.05, 0.04, 0.03])
    birth = (np.datetime64("1940-01-01") + rng.integers(0, 365 * 66, rows)).astype("datetime64[D]")
    signup = np.datetime64("2008-01-01") + rng.integers(0, (TODAY - date(2008, 1, 1)).days - 5, rows)
    seconds = rng.integers(0, 10 * 86400, rows).astype("timedelta64[s]")
    updated = (np.datetime64("2026-11-10T00:00:00") + seconds).astype("datetime64[us]")
    frame = pl.DataFrame(
        {
            "n": number,
            "first": first,
            "last": last,
            "country": country,
            "birth": birth,
            "signup": signup.astype("datetime64[D]"),
            "updated": updated,
        }
    )
    u = {name: pl.lit(pl.Series(draw(rows))) for name in ("id", "name", "mail", "phone", "ctry", "date", "ltv", "seg")}
    c = pl.col
    local = c("first").str.to_lowercase().str.replace_all("[^a-z]", "") + "." + c("last").str.to_lowercase()
    local = local.str.replace_all("[^a-z.]", "") + (c("n") % 997).cast(pl.String)
    domain = pl.lit(pick(["example.com", "example.co.uk", "example.de", "example.fr", "example.org"]))
    gb_mobile = "7" + _digits(rng, rows, 3) + " " + _digits(rng, rows, 6)
    gb_london = "20 7" + _digits(rng, rows, 3) + " " + _digits(rng, rows, 4)
    gb = pl.when(u["phone"] < 0.25).then("0" + gb_mobile).when(u["phone"] < 0.5).then("+44 " + gb_mobile)
    gb = gb.when(u["phone"] < 0.75).then("0" + gb_london).otherwise("+44 " + gb_london)
    area = pl.lit(pick(["212", "312", "415", "617", "206", "303"]))
    exchange = pl.lit(pl.Series(rng.integers(200, 1000, rows)).cast(pl.String))
    phone = pl.when(c("country") == "GB").then(gb)
    phone = phone.when(c("country") == "US").then("+1 (" + area + ") " + exchange + "-" + _digits(rng, rows, 4))
    for code, (prefix, groups) in PHONES.items():
        number_text = pl.concat_str([_digits(rng, rows, g) for g in groups], separator=" ")
        phone = phone.when(c("country") == code).then(prefix + number_text)
    mixed = rng.integers(0, 3, rows)  # the date layout of each row
    birth_text = pl.when(pl.lit(pl.Series(mixed)) == 0).then(c("birth").dt.strftime("%d/%m/%Y"))
    birth_text = birth_text.when(pl.lit(pl.Series(mixed)) == 1).then(c("birth").dt.strftime("%d.%m.%Y"))
    birth_text = birth_text.otherwise(c("birth").dt.strftime("%Y-%m-%d"))
    future = c("signup").dt.offset_by("19y")  # lands after the run's date for recent signups
    value = pl.lit(pl.Series(np.round(rng.gamma(2.0, 800.0, rows), 2))).cast(pl.String)
    synonym = pl.lit(pick(CRM_SYNONYMS))
    out = frame.select(
        customer_id=pl.when(u["id"] < 0.001)
        .then(None)
        .when(u["id"] < 0.002)
        .then("CUS-" + c("n").cast(pl.String).str.zfill(5))
        .otherwise("CUS-" + c("n").cast(pl.String).str.zfill(6)),
        full_name=pl.when(u["name"] < 0.02)
        .then("  " + c("first") + "   " + c("last") + " ")
        .otherwise(c("first") + " " + c("last")),
        email=pl.when(u["mail"] < 0.03)
        .then(None)
        .when(u["mail"] < 0.04)
        .then(local + "@example")
        .when(u["mail"] < 0.05)
        .then(local + "@@" + domain)
        .when(u["mail"] < 0.08)
        .then((local + "@" + domain).str.to_uppercase())
        .otherwise(local + "@" + domain),
        phone=pl.when(u["phone"] < 0.02)
        .then(None)
        .when(u["phone"] > 0.99)
        .then(pl.lit("not available"))
        .otherwise(phone),
        country=pl.when(u["ctry"] < 0.05)
        .then(synonym)
        .when(u["ctry"] < 0.055)
        .then(pl.lit("Portugal"))
        .otherwise(c("country")),
        birth_date=pl.when(u["date"] < 0.001)
        .then(pl.lit("1992-02-30"))
        .when(u["date"] > 0.998)
        .then(c("signup").dt.offset_by("1y").dt.strftime("%Y-%m-%d"))
        .otherwise(birth_text),
        signup_date=pl.when((u["date"] > 0.5) & (u["date"] < 0.503))
        .then(future.dt.strftime("%Y-%m-%d"))
        .otherwise(c("signup").dt.strftime("%Y-%m-%d")),
        lifetime_value=pl.when(u["ltv"] < 0.015)
        .then(None)
        .when(u["ltv"] < 0.018)
        .then("-" + value)
        .when(u["ltv"] < 0.019)
        .then(pl.lit("n/a"))
        .otherwise(value),
        segment=pl.when(u["seg"] < 0.01)
        .then(pl.lit("enterprise"))
        .when(u["seg"] < 0.02)
        .then(pl.lit("Retail"))
        .otherwise(pl.lit(pick(SEGMENTS, [0.7, 0.2, 0.1]))),
        source_system=pl.when(pl.lit(pl.Series(again)))
        .then(pl.lit("erp"))
        .otherwise(pl.lit(pick(SYSTEMS, [0.8, 0.15, 0.05]))),
        updated_at=c("updated").dt.strftime("%Y-%m-%dT%H:%M:%S"),
    )
    source = pl.lit(pl.Series(number - 1))  # a repeated customer number: the same person from another system
    return out.with_columns(c("full_name", "email", "birth_date", "country").gather(source))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, required=True)
    parser.add_argument("--out", type=Path, default=Path("bench/data"))
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    frame = customers(args.rows, args.seed)
    frame.write_parquet(args.out / f"customers_{args.rows}.parquet")
    frame.write_csv(args.out / f"customers_{args.rows}.csv")
    print(f"wrote {args.rows} rows to {args.out}")


if __name__ == "__main__":
    main()
