"""The key that signs the runs list's paging cursors (``services.runs.Cursors``).

One key per deployment, never in the code:

1. ``DQ_CURSOR_KEY`` (at least 32 characters): in Azure a Key Vault reference
   (``@Microsoft.KeyVault(SecretUri=<vault>/secrets/dq-cursor-key/)``), like ``DQ_PG_DSN``;
2. else ``{home}/auth/cursor-key``, 32 random bytes (hex) written on first use (mode 0600; two
   processes on one home agree): ``dq serve`` and ``func start`` locally;
3. else (the home folder cannot be written, e.g. a read-only app package; or the Key Vault
   reference did not resolve, which leaves the reference's own text as the value) a random key
   for the life of the process, logged: cursors then stop working across restarts and instances
   (a 400 asks the caller to start again from the first page), and are never signed with a key
   anyone could read.

The setting's value is never used as is: the HMAC key is derived from it for this one purpose.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
from pathlib import Path
from typing import Final

from app.settings import AppSettings
from dq_core.errors import ConfigError

log = logging.getLogger("dq.cursor_keys")

KEY_FILE: Final = Path("auth") / "cursor-key"  # under the home folder, beside the local signing key
MIN_SETTING_CHARS: Final = 32
_PURPOSE: Final = b"dq-runs-cursor/v1"
_UNRESOLVED: Final = "@microsoft.keyvault("  # App Service passes an unresolved reference on as its text


def _derived(material: bytes) -> bytes:
    return hmac.new(material, _PURPOSE, hashlib.sha256).digest()


def _from_home(home: Path) -> bytes:
    """The key file's key; made first when there is none (written aside, then linked into place: a
    process starting at the same time reads the whole file or makes it, never half of it)."""
    path = home / KEY_FILE
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not path.exists():
        draft = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(secrets.token_hex(32) + "\n")
        try:
            os.link(draft, path)
        except FileExistsError:
            pass  # another process made it first: use theirs
        finally:
            draft.unlink()
    try:
        text = path.read_text(encoding="ascii").strip()
    except UnicodeDecodeError:
        text = ""
    if len(text) < 2 * MIN_SETTING_CHARS:
        msg = f"{path} does not hold a cursor key (64 hex digits): delete it to have a new one made"
        raise ConfigError(msg)
    return _derived(text.encode("ascii"))


def cursor_key(settings: AppSettings, home: Path) -> bytes:
    """The deployment's cursor key (see the module doc); ConfigError when the setting is too short."""
    if settings.cursor_key is not None:
        value = settings.cursor_key.get_secret_value()
        if value.lstrip().lower().startswith(_UNRESOLVED):
            log.error("DQ_CURSOR_KEY is a Key Vault reference that did not resolve: paging cursors are signed "
                      "with a key of this process only")  # fmt: skip
            return secrets.token_bytes(32)
        if len(value) < MIN_SETTING_CHARS:
            msg = f"DQ_CURSOR_KEY must be at least {MIN_SETTING_CHARS} characters (it signs the runs list's cursors)"
            raise ConfigError(msg)
        return _derived(value.encode("utf-8"))
    try:
        return _from_home(home)
    except OSError as exc:
        log.warning(
            "no DQ_CURSOR_KEY and %s cannot be written (%s): paging cursors are signed with a key of this process only",
            home / KEY_FILE,
            exc.strerror or type(exc).__name__,
        )
        return secrets.token_bytes(32)
