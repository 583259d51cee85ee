"""The key that signs paging cursors: from DQ_CURSOR_KEY, else made once under the home folder."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest
from pydantic import SecretStr

from app.cursor_keys import KEY_FILE, cursor_key
from app.settings import AppSettings
from dq_core.errors import ConfigError

SECRET = "a-deployment-cursor-key-of-more-than-32-characters"  # noqa: S105 - a test value


def test_the_setting_gives_one_key_for_every_instance_of_the_deployment(tmp_path: Path) -> None:
    settings = AppSettings(cursor_key=SecretStr(SECRET))
    key = cursor_key(settings, tmp_path / "a")
    assert key == cursor_key(settings, tmp_path / "b") and len(key) == 32
    assert SECRET.encode() not in key  # derived for this purpose, never the setting as is
    assert not (tmp_path / "a").exists()  # nothing written when the setting names the key
    assert cursor_key(AppSettings(cursor_key=SecretStr(SECRET + "x")), tmp_path) != key


def test_a_short_setting_is_refused() -> None:
    with pytest.raises(ConfigError, match="DQ_CURSOR_KEY must be at least 32 characters"):
        cursor_key(AppSettings(cursor_key=SecretStr("short")), Path("/nonexistent"))


def test_without_the_setting_a_key_is_made_once_under_home(tmp_path: Path) -> None:
    settings = AppSettings()
    key = cursor_key(settings, tmp_path)
    path = tmp_path / KEY_FILE
    assert path.stat().st_mode & 0o777 == 0o600
    assert len(path.read_text().strip()) == 64
    assert cursor_key(settings, tmp_path) == key  # kept: cursors survive a restart
    assert cursor_key(settings, tmp_path / "other") != key  # never a key in the code
    path.write_text("garbage\n")
    with pytest.raises(ConfigError, match="does not hold a cursor key"):
        cursor_key(settings, tmp_path)


def test_an_unwritable_home_gives_a_key_of_the_process_and_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    if os.geteuid() == 0:
        home = Path("/proc/dq-cannot-write-here")  # root writes anywhere a mode allows: use a read-only fs
    else:
        home = tmp_path / "ro"
        home.mkdir(mode=0o500)
    with caplog.at_level(logging.WARNING, logger="dq.cursor_keys"):
        first, second = cursor_key(AppSettings(), home), cursor_key(AppSettings(), home)
    assert first != second and len(first) == 32
    assert "paging cursors are signed with a key of this process only" in caplog.text


def test_an_unresolved_key_vault_reference_is_never_the_key(caplog: pytest.LogCaptureFixture) -> None:
    reference = "@Microsoft.KeyVault(SecretUri=https://dq-kv.vault.azure.net/secrets/dq-cursor-key/)"
    with caplog.at_level(logging.ERROR, logger="dq.cursor_keys"):
        first = cursor_key(AppSettings(cursor_key=SecretStr(reference)), Path("/nonexistent"))
        second = cursor_key(AppSettings(cursor_key=SecretStr(reference)), Path("/nonexistent"))
    assert first != second  # anyone who reads the app settings could otherwise sign cursors
    assert "Key Vault reference that did not resolve" in caplog.text
