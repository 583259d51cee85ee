"""``dq token``: local test tokens (environment ``local`` only).

``dq token keygen`` writes the local signing key under the home folder; ``dq token mint``
prints a bearer token signed with it, which the API accepts when ``DQ_AUTH_MODE=local-key``;
``dq token jwks`` prints the key's public JWKS.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from cli.output import DEFAULT_HOME, EXIT_OK, _err, _out
from dq_core.config.base import Environment
from dq_core.errors import ConfigError
from dq_core.security.principal import Role


def _devkeys() -> Any:
    from dq_core.security import devkeys  # noqa: PLC0415 - cryptography: only for these commands

    return devkeys


def _settings() -> Any:
    from app.settings import AppSettings  # noqa: PLC0415

    return AppSettings()  # read fresh: the environment decides


def _require_local() -> Any:
    settings = _settings()
    if settings.environment is not Environment.LOCAL:
        msg = f"dq token works only in environment local (DQ_ENVIRONMENT is {settings.environment.value})"
        raise ConfigError(msg)
    return settings


def cmd_token_keygen(args: argparse.Namespace) -> int:
    _require_local()
    path = _devkeys().generate_key(args.home, force=args.force)
    kid = _devkeys().public_jwk(_devkeys().load_key(args.home))["kid"]
    _out(f"wrote {path} (RSA-2048, mode 0600), kid {kid}")
    _err(f"next: DQ_AUTH_MODE=local-key, then dq token mint --tenant <tenant> --role DQ.Reader --home {args.home}")
    return EXIT_OK


def cmd_token_mint(args: argparse.Namespace) -> int:
    settings = _require_local()
    token = _devkeys().mint(
        _devkeys().load_key(args.home),
        tenants=args.tenant,
        roles=args.role,
        subject=args.subject,
        name=args.name,
        minutes=args.minutes,
        tenant_claim=settings.auth_tenant_claim or "dq_tenants",
    )
    _out(token)
    return EXIT_OK


def cmd_token_jwks(args: argparse.Namespace) -> int:
    _out(json.dumps(_devkeys().public_jwks(_devkeys().load_key(args.home)), indent=2))
    return EXIT_OK


def add_token_parser(commands: Any) -> None:
    token = commands.add_parser("token", help="local test tokens for the API (environment local only)")
    sub = token.add_subparsers(dest="subcommand", metavar="SUBCOMMAND", required=True)
    keygen = sub.add_parser("keygen", help="write the local signing key (RSA, PEM, mode 0600) under --home")
    keygen.add_argument("--home", type=Path, default=DEFAULT_HOME, help="embedded stores folder (default: .dq)")
    keygen.add_argument("--force", action="store_true", help="replace an existing key")
    keygen.set_defaults(handler=cmd_token_keygen)
    mint = sub.add_parser("mint", help="print a bearer token signed with the local key (DQ_AUTH_MODE=local-key)")
    mint.add_argument("--tenant", action="append", required=True, help="a DQ tenant the caller may act for (repeat)")
    mint.add_argument(
        "--role", action="append", required=True, choices=[r.value for r in Role], help="an app role (repeat)"
    )
    mint.add_argument("--subject", default="local-user", help="the caller's id (oid/sub; default: local-user)")
    mint.add_argument("--name", help="display name (preferred_username; default: the subject)")
    mint.add_argument("--minutes", type=int, default=60, help="lifetime (1..1440, default 60)")
    mint.add_argument("--home", type=Path, default=DEFAULT_HOME, help="embedded stores folder (default: .dq)")
    mint.set_defaults(handler=cmd_token_mint)
    jwks = sub.add_parser("jwks", help="print the local key's public JWKS")
    jwks.add_argument("--home", type=Path, default=DEFAULT_HOME, help="embedded stores folder (default: .dq)")
    jwks.set_defaults(handler=cmd_token_jwks)
