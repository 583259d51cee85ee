"""Seeded synthetic customers with planted defects, as CSV and Parquet.

    python bench/generate.py --rows 2000000 --out bench/data

Defects (fractions of rows): duplicate customer ids 0.5 %, malformed e-mails 2 %,
malformed phones 2 %, invalid country codes 1 %, invalid status codes 1 %, ages out of
0..120 1 %, null balances 1.5 %, signup dates in the future 0.5 %, and repeated
first name + last name + birth date 0.3 %.
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
