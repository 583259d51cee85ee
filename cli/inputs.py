"""What several commands read from their options: the authoring workspace, an ODCS contract, the salt."""

from __future__ import annotations

import argparse
from pathlib import Path

from cli.output import _err
from dq_core.bundle.models import ResolvedBundle
from dq_core.errors import DQError
from services import workspace as service


def workspace_of(args: argparse.Namespace) -> tuple[service.Workspace, service.Scope]:
    workspace = service.workspace_from_directory(args.libraries)
    if workspace.problems:
        raise workspace.problems[0]
    return workspace, service.default_scope(workspace.index, args.tenant, args.env)


def odcs_bundle(path: Path, dataset: str | None, tenant: str, environment: str) -> ResolvedBundle:
    from dq_core.bundle.resolve import resolve_bundle  # noqa: PLC0415
    from dq_core.config.index import InMemoryConfigIndex  # noqa: PLC0415
    from dq_core.interop import odcs  # noqa: PLC0415

    imported = odcs.load_odcs_file(path, tenant=tenant, environment=environment)
    for warning in imported.warnings:
        _err(f"warning: {warning}")
    index = InMemoryConfigIndex()
    index.add(imported.contract, str(path))
    return resolve_bundle(index, imported.contract, dataset=dataset, location=str(path))


def secret_salt(bundle: ResolvedBundle, home: Path) -> bytes | None:
    """The tenant's salt from the secret store (Key Vault in Azure, DQ_SECRET_* locally)."""
    from app.bootstrap import stores  # noqa: PLC0415 - the composition root, loaded when a salt is needed
    from dq_core.errors import ObjectNotFound  # noqa: PLC0415

    secrets = stores(home).secrets
    try:
        return str(secrets.get(bundle.tenant, bundle.governance.salt_secret)).encode("utf-8")
    except ObjectNotFound:
        return None  # a policy that hashes then stops, naming the secret


def read_salt(path: Path | None) -> bytes | None:
    if path is None:
        return None
    try:
        salt = path.read_bytes().strip()
    except OSError as exc:
        raise DQError(f"{path}: cannot read the salt file: {exc.strerror}") from None
    if len(salt) < 16:  # noqa: PLR2004 - a salt shorter than 16 bytes is too easy to guess
        raise DQError(f"{path}: the salt must be at least 16 bytes")
    return salt
