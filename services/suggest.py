"""Rule suggestions, for ``dq suggest`` and ``POST /api/tenants/{tenant}/suggestions``.

Both edges call :func:`suggest` (the CLI with a local file, the API with an upload through
:func:`suggest_upload`): a draft contract of the file's dataset (see :mod:`dq_core.authoring.suggest`
for what is suggested and :mod:`dq_core.runs.suggest` for how it is checked on the file). With a base
contract the draft is the base's next free minor version, status draft, and holds only what the
base does not already check; without one it is a new contract ``0.1.0`` of one dataset.
"""

from __future__ import annotations

import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from dq_core.authoring.suggest import Draft, DraftTarget, dataset_name, next_version
from dq_core.config.base import Environment, Kind
from dq_core.contracts.models import DataContract
from dq_core.errors import OptionError
from dq_core.identifiers import ID_RULE, TENANT_RULE, is_id, is_tenant
from dq_core.loading.writers import render, to_authoring
from dq_core.ports import ConfigReader
from dq_core.runs.suggest import suggest_file
from services.workspace import Scope, pick_version

FORMATS = {".yaml": "yaml", ".yml": "yaml", ".json": "json"}
"""The draft's authoring format, by the output file's extension."""


def output_format(path: Path) -> str:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise OptionError(f"{path}: write the draft as .yaml, .yml or .json")
    return fmt


def document(draft: Draft, fmt: str) -> bytes:
    """The draft as an authoring file (YAML or JSON): what ``dq libraries check`` reads."""
    return render(draft.contract, fmt)


def authoring_json(draft: Draft) -> dict[str, Any]:
    """The draft as the API answers it: the authoring JSON :func:`document` writes for ``.json``."""
    return to_authoring(draft.contract)


def _checked_id(value: str, what: str) -> str:
    text = value.strip().lower()
    if not is_id(text):
        raise OptionError(f"{what} {value!r} is not a valid id ({ID_RULE})")
    return text


def _target(tenant: str, environment: str, dataset: str | None, contract_id: str | None, name: str) -> DraftTarget:
    if not is_tenant(tenant.strip().lower()):
        raise OptionError(f"tenant {tenant!r} is not a valid tenant id ({TENANT_RULE})")
    if environment not in {e.value for e in Environment}:
        raise OptionError(f"environment {environment!r} is not one of {', '.join(e.value for e in Environment)}")
    dataset = _checked_id(dataset, "dataset") if dataset else dataset_name(name)
    return DraftTarget(
        tenant=tenant.strip().lower(),
        environment=environment,
        contract_id=_checked_id(contract_id, "contract id") if contract_id else dataset,
        dataset=dataset,
    )


def base_contract(
    reader: ConfigReader, tenant: str, environment: str, contract_id: str, version: str | None = None
) -> DataContract:
    """The version asked for, else the newest published one, else the newest one."""
    scope = Scope(tenant, environment)
    chosen = pick_version(reader, scope, Kind.CONTRACT, _checked_id(contract_id, "contract id"), version)
    assert isinstance(chosen, DataContract)  # noqa: S101 - asked for by kind
    return chosen


def suggest(
    path: Path,
    *,
    tenant: str,
    environment: str,
    dataset: str | None = None,
    contract_id: str | None = None,
    base: DataContract | None = None,
    reader: ConfigReader | None = None,
    now: datetime | None = None,
) -> Draft:
    """A draft contract for the data in ``path``: a new one (``contract_id``, default the dataset name),
    or ``base``'s next version when given (its references resolved through ``reader``)."""
    if base is None:
        return suggest_file(path, _target(tenant, environment, dataset, contract_id, path.name), now=now)
    if reader is None:
        raise OptionError("a base contract needs the libraries it refers to")
    try:
        spec = base.dataset(_checked_id(dataset, "dataset") if dataset else None)
    except KeyError as exc:
        raise OptionError(str(exc.args[0])) from None
    taken = reader.versions(base.tenant, base.environment.value, Kind.CONTRACT, base.id)
    target = DraftTarget(
        tenant=base.tenant,
        environment=base.environment.value,
        contract_id=base.id,
        dataset=spec.name,
        version=next_version(base.version, taken),
    )
    return suggest_file(path, target, base=base, reader=reader, now=now)


def suggest_upload(
    data: bytes,
    file_name: str,
    *,
    tenant: str,
    environment: str,
    dataset: str | None = None,
    base: DataContract | None = None,
    reader: ConfigReader | None = None,
) -> Draft:
    """:func:`suggest` for bytes sent over HTTP: written to a private temporary folder, read, removed."""
    with tempfile.TemporaryDirectory(prefix="dq-suggest-") as folder:
        path = Path(folder) / Path(file_name).name
        path.write_bytes(data)
        return suggest(path, tenant=tenant, environment=environment, dataset=dataset, base=base, reader=reader)
