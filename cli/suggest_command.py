"""``dq suggest DATA --out FILE``: profile a data file and write a draft contract of suggested rules.

Without ``--contract`` the draft is a new contract (id ``--id``, default the dataset name; dataset
``--dataset``, default the file's name) of the tenant and environment given, else the only ones in
``--libraries``, else ``local``/``local``. With ``--contract ID`` it is that contract's next minor
version, keeping everything the contract has and adding only the rules it does not have yet (and the
columns it does not declare). The draft is checked on the file with ``dq validate``'s own code first:
what fails there is dropped and listed. Written as YAML or JSON by the extension of ``--out``; put it
under ``libraries/{tenant}/{env}/contracts/`` and ``dq libraries check`` reads it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from cli.environment import ENVIRONMENT, TENANT, libraries_default, option_default
from cli.inputs import workspace_of
from cli.output import EXIT_OK, _err, _out
from dq_core.authoring.suggest import marker_notes
from dq_core.config.base import Kind
from dq_core.contracts.models import DataContract
from dq_core.errors import ConfigError, OptionError
from services import suggest as service
from services import workspace

LOCAL = "local"


def _scope_of(args: argparse.Namespace) -> tuple[str, str]:
    """--tenant / --env, else the only ones in --libraries (when it loads), else local/local."""
    if args.tenant and args.env:
        return args.tenant, args.env
    if args.libraries.is_dir():
        try:
            _, scope = workspace_of(args)
        except ConfigError:
            pass
        else:
            return scope.tenant, scope.environment
    return args.tenant or LOCAL, args.env or LOCAL


def cmd_suggest(args: argparse.Namespace) -> int:
    fmt = service.output_format(args.out)
    if args.contract:
        if args.id:
            raise OptionError("--id names a new contract: with --contract the draft is that contract's next version")
        space, scope = workspace_of(args)
        base = workspace.pick_version(space.index, scope, Kind.CONTRACT, args.contract, args.version)
        assert isinstance(base, DataContract)  # noqa: S101 - asked for by kind
        draft = service.suggest(
            args.input,
            tenant=scope.tenant,
            environment=scope.environment,
            dataset=args.dataset,
            base=base,
            reader=space.index,
        )
    else:
        tenant, environment = _scope_of(args)
        draft = service.suggest(
            args.input, tenant=tenant, environment=environment, dataset=args.dataset, contract_id=args.id
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(service.document(draft, fmt))
    for line in draft.skipped:
        _err(f"skipped: {line}")
    for line in draft.dropped:
        _err(f"dropped: {line}")
    for line in marker_notes(draft):
        _err(f"note: {line}")
    contract = draft.contract
    _out(
        f"suggested {len(draft.suggested)} rule(s) for dataset {draft.dataset} of contract "
        f"{contract.id}@{contract.version} ({contract.tenant}/{contract.environment.value}, draft) → {args.out}"
    )
    return EXIT_OK


def add_suggest_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "suggest", help="profile a data file and write a draft contract of suggested rules (docs/suggest.md)"
    )
    parser.add_argument("input", type=Path, help="CSV (also .csv.gz), Parquet, JSON lines or XLSX file")
    parser.add_argument("--out", type=Path, required=True, help="the draft contract: .yaml, .yml or .json")
    parser.add_argument("--contract", help="extend this contract of the libraries: only rules it does not have yet")
    parser.add_argument("--version", help="with --contract: its version (default: newest published)")
    parser.add_argument("--dataset", help="the dataset's name (default: the file's name; with --contract its first)")
    parser.add_argument("--id", help="the new contract's id (default: the dataset's name; not with --contract)")
    _options(parser)
    parser.set_defaults(handler=cmd_suggest)


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--libraries", type=Path, default=libraries_default(), help="directory of authoring files")
    parser.add_argument("--tenant", **option_default(TENANT), help="tenant (default: $DQ_TENANT, else as above)")
    parser.add_argument("--env", **option_default(ENVIRONMENT), help="environment (default: $DQ_ENV, else as above)")
