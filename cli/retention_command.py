"""``dq retention apply``: delete run folders, working files and raw upload copies past their
retention (docs/retention.md), in the stores ``--home`` names (or the Azure ones the settings
name), audited as ``--actor``. What the Functions app's daily timer does in Azure."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cli.output import DEFAULT_HOME, EXIT_FAILED, EXIT_OK, _err, _out


def cmd_retention_apply(args: argparse.Namespace) -> int:
    from app import bootstrap  # noqa: PLC0415 - the composition root picks the adapters
    from app.settings import get_settings  # noqa: PLC0415
    from dq_core.config.base import Environment  # noqa: PLC0415
    from services.retention import SYSTEM_ACTOR, RetentionService  # noqa: PLC0415

    stores = bootstrap.stores(args.home)
    if args.tenant:
        tenants = [args.tenant]
    else:
        tenants = sorted({tenant for env in Environment for tenant in stores.contracts.tenants(env.value)})
        if not tenants:
            _err(f"no tenant in the registry of {args.home}: name one with --tenant")
    environment = get_settings().environment.value  # of the audit events of uploads no run names
    service = RetentionService(stores.lineage, stores.blobs, environment, actor=args.actor or SYSTEM_ACTOR)
    now = args.now or datetime.now(UTC)
    verb = "would delete" if args.dry_run else "deleted"
    moment = f"{now:%Y-%m-%d %H:%M:%S %Z}"
    problems: list[str] = []
    for tenant in tenants:
        outcome = service.apply(tenant, now, dry_run=args.dry_run)
        for item in outcome.purged:
            if item.error is None and item.deleted:
                _out(f"{tenant}: {verb} {item.deleted} blobs under {item.due.prefix} ({item.due.describe()})")
        done = [item for item in outcome.purged if item.error is None and item.deleted]
        if done:
            _out(f"{tenant}: {verb} {outcome.deleted} blobs in {len(done)} folders past retention as of {moment}")
        else:
            _out(f"{tenant}: nothing past retention as of {moment}")
        problems += outcome.problems
    for problem in problems:
        _err(f"retention_failed: {problem}")
    return EXIT_FAILED if problems else EXIT_OK


def add_retention_parser(commands: Any, moment: Callable[[str], datetime]) -> None:
    retention = commands.add_parser("retention", help="delete run files and raw copies past their retention")
    subcommands = retention.add_subparsers(dest="subcommand", metavar="SUBCOMMAND", required=True)
    apply = subcommands.add_parser(
        "apply",
        help="delete what is past retention, one audit event per folder (exit 1 when a folder could not be deleted)",
    )
    apply.add_argument("--tenant", help="one tenant (default: every tenant of the registry)")
    apply.add_argument("--home", type=Path, default=DEFAULT_HOME, help="embedded stores folder (default: .dq)")
    apply.add_argument("--dry-run", action="store_true", help="list what is due; delete nothing, audit nothing")
    apply.add_argument("--now", type=moment, help="the clock, ISO 8601 (default: now)")
    apply.add_argument("--actor", help="recorded on the audit events (default: system:retention)")
    apply.set_defaults(handler=cmd_retention_apply)
