"""Every setting the code reads is in local.settings.sample.json and documented."""

from __future__ import annotations

import json
import re

from app.settings import AppSettings
from tests.conftest import ROOT


def _read_by_code() -> set[str]:
    settings = {f"DQ_{name.upper()}" for name in AppSettings.model_fields}
    host = (ROOT / "host.json").read_text(encoding="utf-8")
    return settings | set(re.findall(r"%([A-Z_]+)%", host))


def test_sample_lists_every_setting_and_no_secret_values() -> None:
    values = json.loads((ROOT / "local.settings.sample.json").read_text(encoding="utf-8"))["Values"]
    assert _read_by_code() <= set(values)
    assert values["DQ_PG_DSN"] == ""  # secrets never have values in settings files
    assert not any("AccountKey=" in str(v) or "password" in str(v).lower() for v in values.values())


def test_every_setting_is_documented() -> None:
    page = (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `([A-Za-z_]+)` \|", page, flags=re.MULTILINE))
    assert _read_by_code() <= documented
    values = json.loads((ROOT / "local.settings.sample.json").read_text(encoding="utf-8"))["Values"]
    assert set(values) <= documented
