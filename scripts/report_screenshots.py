"""The report screenshots in docs/img/, from real runs of ``dq run`` on generated orders.

    .venv/bin/python scripts/report_screenshots.py            # needs /usr/bin/chromium (scripts/test.sh installs it)

Writes 3,000 orders whose failures are partly made by the cleansing policy (an imputed -1, e-mails
equal once lower-cased, names trimmed) and partly sent as they are, runs the contract over them four
times (a growing share of bad amounts, so the history has a trend), and saves, in headless Chromium:

* docs/img/report-insights.png: the last run's report, from the verdict down to the rules: the
  quality scores, and beside each failing rule its hint and its failing rows split by cleansing step;
* docs/img/history.png: ``dq report --history orders`` over the four runs.
"""

from __future__ import annotations

import random
import subprocess
import sys
import tempfile
from pathlib import Path

import polars as pl
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
IMAGES = ROOT / "docs" / "img"
CHROMIUM = "/usr/bin/chromium"

POLICY = """\
kind: cleansing_policy
tenant: acme
environment: dev
id: tidy
version: 1.0.0
status: published
steps:
  - {id: trim, type: trim, columns: [name]}
  - {id: lower, type: case, columns: [email], mode: lower}
  - {id: fill, type: impute, columns: [amount], strategy: constant, value: -1}
"""

CONTRACT = """\
kind: contract
tenant: acme
environment: dev
id: orders
version: 1.0.0
status: published
owner: ops@acme.example
cleansing_policy: tidy@1.0.0
datasets:
  - name: orders
    columns:
      - {name: id, logical_type: integer, required: true, unique: true}
      - {name: name, logical_type: string}
      - {name: email, logical_type: string}
      - {name: amount, logical_type: number}
    bindings:
      - {id: amount_positive, check: {type: range, params: {min: 0}}, columns: [amount]}
      - {id: email_unique, check: {type: unique, severity: warning}, columns: [email]}
      - {id: name_letters, check: {type: regex, params: {pattern: '^[A-Za-z ]+$'}}, columns: [name]}
      - id: volume
        check: {type: anomaly, params: {metric: row_count, min_history: 2}}
"""


def orders(path: Path, bad_share: float, seed: int) -> None:
    rng = random.Random(seed)  # noqa: S311 - generated test data, not secrets
    rows = []
    for i in range(3000 + seed * 150):
        name = rng.choice(["Ann Lee", "Bo Chan", "Cy Diaz", "Ann 2nd", "R2D2"])
        name = f"  {name} " if rng.random() < 0.3 else name
        email = f"user{i % 2900}@acme.example"
        email = email.upper() if rng.random() < 0.1 else email
        amount = None if rng.random() < 0.1 else (-5.0 if rng.random() < bad_share else rng.choice([3.0, 10.0, 42.5]))
        rows.append((i, name, email, amount))
    schema = {"id": pl.Int64, "name": pl.String, "email": pl.String, "amount": pl.Float64}
    pl.DataFrame(rows, schema=schema, orient="row").write_csv(path)


def dq(*args: str) -> None:
    command = [sys.executable, "-m", "cli", *args]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)  # noqa: S603 - our own CLI
    if done.returncode not in (0, 1):
        raise SystemExit(f"dq {' '.join(args)} exited {done.returncode}: {done.stderr.strip()}")


def shoot(page_path: Path, image: Path, clip_to: str | None) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(page_path.as_uri(), wait_until="load")
        if clip_to is None:
            page.screenshot(path=str(image), full_page=True)
        else:
            end = page.locator(clip_to).bounding_box()
            if end is None:
                raise SystemExit(f"{page_path.name}: no {clip_to} to clip to")
            page.screenshot(path=str(image), full_page=True, clip={"x": 0, "y": 0, "width": 1400,
                                                                   "height": end["y"] + end["height"]})  # fmt: skip
        browser.close()


def main() -> int:
    IMAGES.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="dq-shots-") as folder:
        work = Path(folder)
        libs = work / "libs" / "acme" / "dev"
        (libs / "contracts").mkdir(parents=True)
        (libs / "cleansing").mkdir()
        (libs / "contracts" / "orders.yaml").write_text(CONTRACT)
        (libs / "cleansing" / "tidy.yaml").write_text(POLICY)
        scope = ["--libraries", str(work / "libs"), "--tenant", "acme", "--env", "dev", "--home", str(work / "home")]
        for seed, share in enumerate((0.02, 0.03, 0.05, 0.12)):
            data = work / f"orders-{seed}.csv"
            orders(data, share, seed)
            dq("run", str(data), "--contract", "orders", "--out", str(work / "run"), *scope)
        shoot(work / "run" / "report.html", IMAGES / "report-insights.png", "#rules")
        history = work / "history.html"
        dq("report", "--history", "orders", "--out", str(history), *scope)
        shoot(history, IMAGES / "history.png", None)
    print(f"wrote {IMAGES / 'report-insights.png'} and {IMAGES / 'history.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
