"""``dq``: parse options, call the facade, print. Nothing else lives here.

Exit codes: 0 success; 1 a validation failed (an error-severity rule failed, or a
rule could not be evaluated);
2 bad input or configuration (one line on stderr, never a traceback);
3 an internal error (a bug: one line, ``--debug`` shows the traceback).
"""

from __future__ import annotations

import argparse
import gc
import json
import signal
import sys
import traceback
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn

from cli.environment import ENVIRONMENT, TENANT, defaults, libraries_default, option_default
from cli.inputs import (
    add_reference_option,
    load_cli_references,
    odcs_bundle,
    read_salt,
    reference_locations,
    secret_salt,
    workspace_of,
)
from cli.output import (
    DEFAULT_HOME,
    EXIT_BAD_INPUT,
    EXIT_FAILED,
    EXIT_INTERNAL,
    EXIT_OK,
    _err,
    _out,
    _write,
    failing_rules,
)
from cli.report_command import add_report_parser
from cli.retention_command import add_retention_parser
from cli.run_command import add_run_parser
from cli.schema_command import add_schema_parser
from cli.serve_command import add_serve_parser
from cli.store_commands import (
    _record,
    cmd_contracts_lifecycle,
    cmd_contracts_sync,
    cmd_lineage_export,
    cmd_lineage_verify,
)
from cli.suggest_command import add_suggest_parser
from cli.token_command import add_token_parser
from dq_core.bundle.models import ResolvedAction, ResolvedBundle
from dq_core.config.base import Kind
from dq_core.config.canonical import canonical_json, to_plain
from dq_core.contracts.models import DataContract
from dq_core.errors import DQError
from dq_core.loading.loader import load_file
from dq_core.loading.writers import dump_yaml, render, to_authoring
from dq_core.profiling.models import ProfileResult
from dq_core.results.run import RunResult
from services import workspace as service

Handler = Callable[[argparse.Namespace], int]


# --- commands ------------------------------------------------------------------------


def cmd_libraries_check(args: argparse.Namespace) -> int:
    workspace = service.workspace_from_directory(args.directory)
    problems = service.check_workspace(workspace)
    for problem in problems:
        _err(problem.one_line())
    if problems:
        _err(f"{len(problems)} problem(s) in {args.directory}")
        return EXIT_BAD_INPUT
    _out(f"ok: {workspace.summary()} in {args.directory}, every reference resolves")
    return EXIT_OK


def cmd_libraries_convert(args: argparse.Namespace) -> int:
    obj = load_file(args.source)
    _write(render(obj, args.to), args.out)
    return EXIT_OK


def cmd_contracts_list(args: argparse.Namespace) -> int:
    workspace, scope = workspace_of(args)
    for obj in sorted(workspace.index, key=lambda o: (o.id, o.version)):
        if obj.kind is Kind.CONTRACT and (obj.tenant, obj.environment.value) == (scope.tenant, scope.environment):
            _out(f"{obj.id}\t{obj.version}\t{obj.status.value}\t{workspace.index.source(obj)}")
    return EXIT_OK


def cmd_contracts_show(args: argparse.Namespace) -> int:
    workspace, scope = workspace_of(args)
    contract = service.pick_version(workspace.index, scope, Kind.CONTRACT, args.id, args.version)
    if args.format == "json":
        _write(canonical_json(contract), None)
    else:
        _out(dump_yaml(to_authoring(contract)))
    return EXIT_OK


def cmd_contracts_import_odcs(args: argparse.Namespace) -> int:
    from dq_core.interop import odcs  # noqa: PLC0415 - only this command needs it

    result = odcs.load_odcs_file(args.file, tenant=args.tenant, environment=args.env)
    for warning in result.warnings:
        _err(f"warning: {warning}")
    fmt = args.out.suffix.lower().lstrip(".") if args.out else "yaml"
    _write(render(result.contract, fmt), args.out)
    if args.out:
        _err(f"wrote contract {result.contract.id}@{result.contract.version} to {args.out}")
    return EXIT_OK


def cmd_contracts_export_odcs(args: argparse.Namespace) -> int:
    from dq_core.interop import odcs  # noqa: PLC0415 - only this command needs it

    if args.id.endswith((".yaml", ".yml", ".json", ".xlsx")) and Path(args.id).is_file():
        contract = load_file(Path(args.id))
    else:
        workspace, scope = workspace_of(args)
        contract = service.pick_version(workspace.index, scope, Kind.CONTRACT, args.id, args.version)
    if not isinstance(contract, DataContract):
        raise DQError(f"{args.id} is a {contract.kind.value}, not a contract")
    _write(dump_yaml(odcs.export_odcs(contract)).encode("utf-8"), args.out)
    return EXIT_OK


def cmd_bundle(args: argparse.Namespace) -> int:
    workspace, scope = workspace_of(args)
    if args.job:
        bundle = service.job_bundle(workspace, scope, args.id, version=args.version)
    else:
        bundle = service.contract_bundle(workspace, scope, args.id, version=args.version, dataset=args.dataset)
    if args.summary:
        _out(_bundle_summary(bundle))
    elif args.pretty:
        _out(json.dumps(to_plain(bundle), indent=2, sort_keys=True, ensure_ascii=False))
    else:
        _write(canonical_json(bundle), args.out)
    return EXIT_OK


def _action_line(action: ResolvedAction) -> str:
    return f"{action.action.id} ({action.action.type}, {'/'.join(t.value for t in action.triggers)})"


def _bundle_summary(bundle: ResolvedBundle) -> str:
    lines = [
        f"bundle {bundle.sha256}",
        f"  contract {bundle.contract.id}@{bundle.contract.version} (sha256 {bundle.contract.sha256[:12]}), "
        f"dataset {bundle.dataset.name}, tenant {bundle.tenant}/{bundle.environment.value}",
        f"  columns ({len(bundle.dataset.columns)}): "
        + ", ".join(
            f"{c.name}:{c.logical_type.value}"
            + (f"[{c.classification.value}]" if c.classification.value in ("pii", "confidential") else "")
            for c in bundle.dataset.columns
        ),
        f"  rules ({len(bundle.rules)}):",
        *(
            f"    {r.id:<40} {r.rule.type:<18} {r.rule.severity.value:<8} {r.origin:<8} {','.join(r.columns)}"
            for r in bundle.rules
        ),
        f"  cleansing steps: {', '.join(step.type for step in bundle.cleansing) or 'none'}",
        f"  infra: {bundle.infra.id}@{bundle.infra.version}, chunk_rows {bundle.infra.chunk_rows}, "
        f"parallelism {bundle.infra.max_parallelism}",
        f"  actions: {', '.join(_action_line(a) for a in bundle.actions) or 'none'}",
        "  sources: " + ", ".join(f"{s.kind.value} {s.id}@{s.version}" for s in bundle.sources),
    ]
    return "\n".join(lines)


def _write_outputs(out: Path | None, files: dict[str, str]) -> None:
    if out is None:
        return
    out.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (out / name).write_text(text, encoding="utf-8")


def cmd_validate(args: argparse.Namespace) -> int:
    from dq_core.results.gx import to_gx  # noqa: PLC0415
    from dq_core.runs.check import validate_file  # noqa: PLC0415
    from dq_core.validation.failed_rows import FILE as FAILED_ROWS  # noqa: PLC0415

    if args.odcs:
        bundle = odcs_bundle(args.odcs, args.dataset, args.tenant or "local", args.env or "local")
    else:
        workspace, scope = workspace_of(args)
        bundle = service.contract_bundle(workspace, scope, args.contract, version=args.version, dataset=args.dataset)
    baseline, history = _baseline(args.baseline), _history(args.history)
    references = load_cli_references(bundle, reference_locations(args.reference), args.home)
    result, profile = validate_file(
        args.input,
        bundle,
        now=args.now,
        baseline=baseline,
        history=history,
        with_profile=args.record,
        references=references,
        failed_rows_to=args.out / FAILED_ROWS if args.out is not None else None,
    )
    assert result.validation is not None  # noqa: S101 - validate_file always validates
    files = {"result.json": result.to_json()}
    if args.gx:
        files["validation.gx.json"] = json.dumps(to_gx(result.validation), indent=2) + "\n"
    if profile is not None:
        files["profile.json"] = profile.model_dump_json(indent=2) + "\n"
    if args.out is not None:
        files.update(_validate_exports(result, profile, bundle))
    _write_outputs(args.out, files)
    _out(_validation_summary(result))
    if args.record:
        _record(args.home, bundle, result, profile, args.input)
        _out(f"recorded run {result.run_id} in {args.home} (dq lineage export {result.run_id})")
    return EXIT_OK if result.status.value == "passed" else EXIT_FAILED


def _validate_exports(result: RunResult, profile: ProfileResult | None, bundle: ResolvedBundle) -> dict[str, str]:
    """report.html and result.csv; the data was not cleansed, so no value of a classified column is shown."""
    from dq_core.reporting import governance_of, render_report  # noqa: PLC0415
    from dq_core.results.csv_export import to_csv  # noqa: PLC0415

    governance = governance_of(bundle, cleansed=False)
    return {
        "report.html": render_report(result, profile=profile, governance=governance),
        "result.csv": to_csv(result.validation),
    }


def _baseline(path: Path | None) -> ProfileResult | None:
    if path is None:
        return None
    try:
        return ProfileResult.model_validate_json(path.read_bytes())
    except OSError as exc:
        raise DQError(f"{path}: cannot read the baseline profile: {exc.strerror}") from None
    except ValueError:
        raise DQError(f"{path}: not a dq.profile/v1 document (write one with dq profile)") from None


def _history(path: Path | None) -> dict[str, list[float]] | None:
    """Metric history: a JSON object of metric key -> earlier values, oldest first."""
    if path is None:
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise DQError(f"{path}: cannot read the metric history: {exc.strerror}") from None
    except ValueError as exc:
        raise DQError(f"{path}: invalid JSON: {exc}") from None
    valid = isinstance(data, dict) and all(
        isinstance(v, list) and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v)
        for v in data.values()
    )
    if not valid:
        raise DQError(f'{path}: expected {{"row_count": [1200, 1180, ...], "null_percent:email": [...]}}')
    return {str(k): [float(x) for x in v] for k, v in data.items()}


def _validation_summary(result: RunResult) -> str:
    assert result.validation is not None  # noqa: S101
    summary = result.validation.summary
    lines = [
        f"{result.status.value.upper()}: {summary.passed} passed, {summary.failed} failed "
        f"({summary.failed_error_severity} of severity error), {summary.errors} errors, {summary.skipped} skipped"
        f" — {result.input.rows if result.input else '?'} rows",
        *failing_rules(result.validation),
    ]
    return "\n".join(lines)


def cmd_cleanse(args: argparse.Namespace) -> int:
    from cli.run_command import ingest_options  # noqa: PLC0415
    from dq_core.runs.cleanse import cleanse_file  # noqa: PLC0415

    options = ingest_options(args)
    workspace, scope = workspace_of(args)
    bundle = service.contract_bundle(workspace, scope, args.contract, version=args.version, dataset=args.dataset)
    salt = read_salt(args.salt_file) if args.salt_file else secret_salt(bundle, args.home)
    args.out.mkdir(parents=True, exist_ok=True)
    run = cleanse_file(args.input, bundle, args.out, options=options, salt=salt)
    report = run.output.report
    _out(
        f"ingested {run.ingest.rows} rows ({run.ingest.format}, {run.ingest.encoding or 'binary'}); "
        f"cleansed {report.rows_out}, rejected {report.rows_rejected}, duplicates removed {report.duplicates_removed}"
        f" → {args.out}"
    )
    for step, count in sorted(report.reject_reasons.items()):
        _out(f"  rejected by {step}: {count}")
    return EXIT_OK


def cmd_profile(args: argparse.Namespace) -> int:
    from dq_core.profiling.finish import profile_to_csv  # noqa: PLC0415
    from dq_core.runs.check import profile_file  # noqa: PLC0415

    profile = profile_file(args.input)
    _write_outputs(
        args.out, {"profile.json": profile.model_dump_json(indent=2) + "\n", "profile.csv": profile_to_csv(profile)}
    )
    if args.out is None:
        _out(profile.model_dump_json(indent=2))
    else:
        _out(f"profiled {profile.row_count} rows, {len(profile.columns)} columns → {args.out}")
    return EXIT_OK


# --- parser --------------------------------------------------------------------------


def _scoped(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--libraries",
        type=Path,
        default=libraries_default(),
        help="directory of authoring files (default: $DQ_LIBRARIES, else libraries)",
    )
    parser.add_argument(
        "--tenant", **option_default(TENANT), help="tenant (default: $DQ_TENANT, else the only one in the libraries)"
    )
    parser.add_argument(
        "--env", **option_default(ENVIRONMENT), help="environment (default: $DQ_ENV, else the only one of the tenant)"
    )


def build_parser() -> argparse.ArgumentParser:
    defaults.cache_clear()  # DQ_LIBRARIES, DQ_TENANT, DQ_ENV as they are now, read once for every option
    parser = argparse.ArgumentParser(prog="dq", description="Data quality and governance: contracts, bundles, runs.")
    parser.add_argument("--version", action=_Version, help="show the version and exit")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    libraries = commands.add_parser("libraries", help="check and convert authoring files")
    lib_commands = libraries.add_subparsers(dest="subcommand", metavar="SUBCOMMAND", required=True)
    check = lib_commands.add_parser("check", help="validate every file and resolve every reference")
    check.add_argument("directory", nargs="?", type=Path, default=libraries_default())
    check.set_defaults(handler=cmd_libraries_check)
    convert = lib_commands.add_parser("convert", help="rewrite one authoring file as YAML, JSON or XLSX")
    convert.add_argument("source", type=Path)
    convert.add_argument("--to", choices=("yaml", "json", "xlsx"), required=True)
    convert.add_argument("--out", type=Path, help="output file (default: stdout)")
    convert.set_defaults(handler=cmd_libraries_convert)

    contracts = commands.add_parser("contracts", help="show, import and export data contracts")
    con_commands = contracts.add_subparsers(dest="subcommand", metavar="SUBCOMMAND", required=True)
    listing = con_commands.add_parser("list", help="list contracts of a tenant and environment")
    _scoped(listing)
    listing.set_defaults(handler=cmd_contracts_list)
    show = con_commands.add_parser("show", help="print one contract")
    show.add_argument("id")
    show.add_argument("--version", help="default: newest published, else newest")
    show.add_argument("--format", choices=("yaml", "json"), default="yaml", help="json prints canonical JSON")
    _scoped(show)
    show.set_defaults(handler=cmd_contracts_show)
    imp = con_commands.add_parser("import-odcs", help="convert an ODCS v3 YAML into a contract")
    imp.add_argument("file", type=Path)
    imp.add_argument("--tenant", **option_default(TENANT, required=True))
    imp.add_argument("--env", **option_default(ENVIRONMENT, required=True))
    imp.add_argument(
        "--out", type=Path, help="write the contract here (.yaml, .json or .xlsx; default: YAML on stdout)"
    )
    imp.set_defaults(handler=cmd_contracts_import_odcs)
    exp = con_commands.add_parser("export-odcs", help="write a contract (id, or a contract file) as ODCS v3.1.0 YAML")
    exp.add_argument("id", help="contract id in the libraries, or the path of a contract file")
    exp.add_argument("--version")
    exp.add_argument("--out", type=Path)
    _scoped(exp)
    exp.set_defaults(handler=cmd_contracts_export_odcs)

    sync = con_commands.add_parser("sync", help="files -> registry (--to) or registry -> files (--from)")
    sync.add_argument("directory", type=Path)
    way = sync.add_mutually_exclusive_group(required=True)
    way.add_argument("--to", choices=("sqlite", "postgres"))
    way.add_argument("--from", dest="from_", choices=("sqlite", "postgres"))
    sync.add_argument("--tenant", **option_default(TENANT))
    sync.add_argument("--env", **option_default(ENVIRONMENT))
    sync.add_argument("--actor", default="dq-sync", help="recorded as created_by")
    sync.add_argument("--home", type=Path, default=DEFAULT_HOME, help="embedded stores folder (sqlite)")
    sync.set_defaults(handler=cmd_contracts_sync)

    for action, text in (
        ("approve", "approve a draft (not its author)"),
        ("publish", "publish an approved version"),
        ("deprecate", "deprecate a published version"),
        ("promote", "copy a published version to the next environment (dev -> test -> prod)"),
    ):
        change_parser = con_commands.add_parser(action, help=text + "; writes an audit event")
        change_parser.add_argument("id")
        change_parser.add_argument("--version", required=True)
        change_parser.add_argument("--kind", default="contract", choices=[k.value for k in Kind])
        change_parser.add_argument("--tenant", **option_default(TENANT, required=True))
        change_parser.add_argument("--env", **option_default(ENVIRONMENT, required=True))
        change_parser.add_argument(
            "--actor", required=True, help="who does it (recorded; approvals need another person)"
        )
        change_parser.add_argument("--store", choices=("sqlite", "postgres"), default="sqlite")
        change_parser.add_argument("--home", type=Path, default=DEFAULT_HOME)
        change_parser.set_defaults(handler=cmd_contracts_lifecycle, action=action)

    lineage = commands.add_parser("lineage", help="evidence packs of recorded runs")
    lin_commands = lineage.add_subparsers(dest="subcommand", metavar="SUBCOMMAND", required=True)
    export = lin_commands.add_parser("export", help="write a run's evidence pack (zip)")
    export.add_argument("run_id")
    export.add_argument("--tenant", **option_default(TENANT, required=True))
    export.add_argument("--out", type=Path)
    export.add_argument("--home", type=Path, default=DEFAULT_HOME)
    export.set_defaults(handler=cmd_lineage_export)
    verify = lin_commands.add_parser("verify", help="recompute every sha256 of an evidence pack")
    verify.add_argument("file", type=Path)
    verify.add_argument("--home", type=Path, default=DEFAULT_HOME, help="also compare with this lineage store's run")
    verify.set_defaults(handler=cmd_lineage_verify)

    bundle = commands.add_parser("bundle", help="print the resolved bundle (canonical JSON) of a contract or job")
    bundle.add_argument("id", help="contract id (or job id with --job)")
    bundle.add_argument("--version")
    bundle.add_argument("--dataset", help="dataset of the contract (default: the first)")
    bundle.add_argument("--job", action="store_true", help="ID is a job definition")
    form = bundle.add_mutually_exclusive_group()
    form.add_argument("--pretty", action="store_true", help="indented JSON instead of canonical bytes")
    form.add_argument("--summary", action="store_true", help="a human summary instead of JSON")
    bundle.add_argument("--out", type=Path)
    _scoped(bundle)
    bundle.set_defaults(handler=cmd_bundle)

    validate = commands.add_parser("validate", help="validate a data file against a contract (no cleansing)")
    validate.add_argument("input", type=Path, help="CSV, Parquet, JSON lines or XLSX file")
    source = validate.add_mutually_exclusive_group(required=True)
    source.add_argument("--contract", help="contract id in the libraries")
    source.add_argument("--odcs", type=Path, help="an ODCS v3 contract file instead")
    validate.add_argument("--version", help="contract version (default: newest published)")
    validate.add_argument("--dataset", help="dataset of the contract (default: the first)")
    validate.add_argument("--out", type=Path, help="write result.json (and profile.json) here")
    validate.add_argument("--gx", action="store_true", help="also write validation.gx.json (Great Expectations shape)")
    validate.add_argument("--baseline", type=Path, help="a profile.json to compare with (distribution drift rules)")
    validate.add_argument("--history", type=Path, help="metric history JSON for anomaly rules: {metric: [values...]}")
    validate.add_argument(
        "--record", action="store_true", help="record the run's lineage in the embedded stores (--home)"
    )
    validate.add_argument("--home", type=Path, default=DEFAULT_HOME, help="embedded stores folder (default: .dq)")
    validate.add_argument("--now", type=_moment, help="the run's clock, ISO 8601 (default: now); for reproducible runs")
    add_reference_option(validate)
    _scoped(validate)
    validate.set_defaults(handler=cmd_validate)

    cleanse = commands.add_parser(
        "cleanse", help="ingest a data file with guards and apply the contract's cleansing policy"
    )
    cleanse.add_argument("input", type=Path, help="CSV (also .csv.gz), Parquet, JSON lines or XLSX file")
    cleanse.add_argument("--contract", required=True, help="contract id in the libraries")
    cleanse.add_argument("--version", help="contract version (default: newest published)")
    cleanse.add_argument("--dataset", help="dataset of the contract (default: the first)")
    cleanse.add_argument("--out", type=Path, required=True, help="output folder")
    cleanse.add_argument("--format", choices=("csv", "csv.gz", "parquet", "jsonl", "xlsx"), help="override detection")
    cleanse.add_argument("--encoding", help="text encoding (default: detected: BOM, UTF-8, else best guess)")
    cleanse.add_argument("--delimiter", help="CSV delimiter (default: detected among , ; tab |)")
    cleanse.add_argument(
        "--salt-file",
        type=Path,
        help="file holding the tenant salt for hashed columns (in Azure: the Key Vault secret)",
    )
    cleanse.add_argument("--home", type=Path, default=DEFAULT_HOME, help="embedded stores folder")
    _scoped(cleanse)
    cleanse.set_defaults(handler=cmd_cleanse)

    add_run_parser(commands, _scoped, _moment)
    add_report_parser(commands)
    add_schema_parser(commands)
    add_retention_parser(commands, _moment)
    add_serve_parser(commands)
    add_token_parser(commands)
    add_suggest_parser(commands)

    profile = commands.add_parser("profile", help="profile a data file")
    profile.add_argument("input", type=Path)
    profile.add_argument("--out", type=Path, help="write profile.json and profile.csv here (default: JSON on stdout)")
    profile.set_defaults(handler=cmd_profile)
    return parser


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 date/time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415 - only for --version

    try:
        return version("dq-platform")
    except PackageNotFoundError:
        return "0+unknown"


class _Version(argparse.Action):
    """``--version``, looked up only when asked (reading the package metadata costs every command time)."""

    def __init__(self, option_strings: Sequence[str], dest: str, help: str | None = None) -> None:  # noqa: A002
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help=help)

    def __call__(self, parser: argparse.ArgumentParser, *args: object) -> None:
        _out(f"dq {_version()}")
        parser.exit()


def run() -> NoReturn:
    """The ``dq`` process (its console script and ``python -m cli``): :func:`main`, then exit with its code.
    Before exiting, every object left is frozen out of the garbage collector: the interpreter's last
    collections would walk the tens of thousands of objects a command leaves (the contract's models,
    polars' and pydantic's modules) for nothing, a tenth of a second of every command."""
    gc.freeze()  # what the imports built lives as long as the process: later collections skip it
    code = main()
    # the command has answered: a Ctrl-C now has nothing left to stop, and the exit code must stay its code
    # (at exit the interpreter hands SIGINT back to the default action, which would end the process by it)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    gc.freeze()
    sys.exit(code)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except DQError as exc:
        _err(exc.one_line())
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        _err("interrupted")
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:  # noqa: BLE001 - the last line of defence: no traceback for users
        if args.debug:
            traceback.print_exc()
        _err(f"internal_error: {type(exc).__name__}: {exc} (run with --debug for details)")
        return EXIT_INTERNAL
