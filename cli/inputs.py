"""What several commands read from their options: the authoring workspace, an ODCS contract, the salt."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from cli.output import _err
from dq_core.bundle.models import ResolvedBundle
from dq_core.errors import DQError
from services import workspace as service

if TYPE_CHECKING:
    from dq_core.runs.references import LoadedReferences


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


def reference_option(text: str) -> tuple[str, str]:
    """``--reference NAME=PATH``: a reference dataset's name and where its data is."""
    name, sep, location = text.partition("=")
    if not sep or not name.strip() or not location.strip():
        raise argparse.ArgumentTypeError(
            f"{text!r}: give NAME=PATH (a local file, or a path in the tenant's container)"
        )
    return name.strip().lower(), location.strip()


def reference_locations(pairs: list[tuple[str, str]] | None) -> dict[str, str]:
    """A local file as a file: URI; anything else is a path (or glob) in the tenant's container."""
    locations: dict[str, str] = {}
    for name, location in pairs or []:
        path = Path(location).expanduser()
        locations[name] = path.resolve().as_uri() if path.is_file() else location
    return locations


def add_reference_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--reference",
        action="append",
        type=reference_option,
        metavar="NAME=PATH",
        help="where a reference dataset of the contract is for this run: a local file, or a path or glob in the "
        "tenant's container (repeatable; overrides the contract's location)",
    )


def load_cli_references(bundle: ResolvedBundle, locations: dict[str, str], home: Path) -> LoadedReferences:
    """The reference datasets ``dq validate`` needs: given files, else the contract's locations in the local stores."""
    from dq_core.runs.references import (  # noqa: PLC0415 - polars: only when a run needs references
        LoadedReferences,
        check_overrides,
        load_references,
        referenced_names,
    )

    check_overrides(bundle, locations, allow_local_files=True)
    needed = referenced_names(bundle) & {spec.name for spec in bundle.reference_datasets}
    if not needed:
        return LoadedReferences()
    blobs = lineage = None
    if any(name not in locations for name in needed):
        from app.bootstrap import stores  # noqa: PLC0415 - the composition root, only when the stores are read

        wired = stores(home)
        blobs, lineage = wired.blobs, wired.lineage
    return load_references(
        bundle.reference_datasets,
        bundle.tenant,
        blobs,
        lineage,
        overrides=locations,
        limits=bundle.infra.limits,
        allow_local_files=True,
        only=needed,
    )
