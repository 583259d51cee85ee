"""Identifiers: the one definition of the id, tenant and version grammars, their bounds, and
the names built from them. Configuration models, the HTTP API's path and query parameters,
the instance ids of runs and the adapters' tenant checks all use these.

* **Id** (``ID_PATTERN``): the id of every configuration object and of what it names inside
  (job definitions, contracts, libraries, catalog entries, datasets, actions, queue ids...):
  a lower-case letter, then lower-case letters, digits, ``_`` or ``-``; at most
  :data:`ID_MAX_LENGTH` (63) characters: PostgreSQL's identifier length, and what keeps
  an instance id ``{tenant}:{job}:{key}`` within Durable's 256 characters.
* **Tenant id** (``TENANT_PATTERN``): an Id without ``_`` and ``-``, at most
  :data:`TENANT_MAX_LENGTH` (32) characters, so that every store can name the tenant's own
  place one-to-one, as it is, never rewritten:

  - the Blob container ``dq-{tenant}`` (3-63 lower-case letters, digits and single hyphens:
    no ``_``);
  - the Azure queue ``dq-{tenant}-{queue}`` (the same rules; a tenant with ``-`` could share
    a queue name with another tenant's queue, see ``adapters/azure/queue_sender.py``; 32
    characters leave a queue id 27);
  - the export schema ``dq_export__{tenant}`` (PostgreSQL's 63 bytes);
  - the Key Vault secret ``{tenant}--{name}`` and the variable ``DQ_SECRET_{TENANT}__{NAME}``
    (``_`` and ``-`` would make two tenants one variable);
  - Table Storage partition keys ``{tenant}|...`` (no separator in a tenant).

  Tenant ids are compared lower-case: models lower-case them before they are checked.
* **Version** (``VERSION_PATTERN``): a semantic version ``major.minor.patch`` with an
  optional pre-release (``1.2.0-rc.1``); numbers of at most 9 digits, a pre-release of at
  most 40 characters. :func:`semver_key` orders them.
"""

from __future__ import annotations

import re
from typing import Final

ID_MAX_LENGTH: Final = 63
ID_PART: Final = rf"[a-z][a-z0-9_\-]{{0,{ID_MAX_LENGTH - 1}}}"
"""An id inside a larger pattern (no anchors)."""
ID_PATTERN: Final = rf"^{ID_PART}$"
ID_RE: Final = re.compile(ID_PATTERN)

TENANT_MAX_LENGTH: Final = 32
TENANT_PART: Final = rf"[a-z][a-z0-9]{{0,{TENANT_MAX_LENGTH - 1}}}"
"""A tenant id inside a larger pattern (no anchors)."""
TENANT_PATTERN: Final = rf"^{TENANT_PART}$"
TENANT_RE: Final = re.compile(TENANT_PATTERN)

VERSION_PATTERN: Final = r"^(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})(-[0-9A-Za-z.\-]{1,40})?$"
VERSION_RE: Final = re.compile(VERSION_PATTERN)

CONTAINER_PREFIX: Final = "dq-"
"""A tenant's Blob container is ``dq-{tenant}`` (``AzureBlobStore``'s default prefix, what the
Event Grid subscription filters on)."""

ID_RULE: Final = f"a letter, then letters, digits, '_' or '-'; at most {ID_MAX_LENGTH} characters"
TENANT_RULE: Final = f"a letter, then letters or digits; at most {TENANT_MAX_LENGTH} characters"


def is_id(value: str) -> bool:
    """Whether ``value`` is an id as it is (not stripped or lower-cased; a trailing newline is no id)."""
    return ID_RE.fullmatch(value) is not None


def is_tenant(value: str) -> bool:
    """Whether ``value`` is a tenant id as it is."""
    return TENANT_RE.fullmatch(value) is not None


def is_version(value: str) -> bool:
    """Whether ``value`` is a semantic version as it is."""
    return VERSION_RE.fullmatch(value) is not None


def semver_key(version: str) -> tuple[int, int, int, int, str]:
    """The sort key of a semantic version: numbers numerically, a pre-release before its release."""
    core, _, pre = version.partition("-")
    major, minor, patch = (int(part) for part in core.split("."))
    return (major, minor, patch, 0 if pre else 1, pre)
