"""``dq report``: render ``report.html`` from a run's ``result.json``.

The run folder (``dq run --out``, ``dq validate --out``, or a downloaded run folder) is
read as it is: ``result.json``, and when they are next to it ``profile.json`` (charts),
``cleansing.json`` (when the result has no cleansing part) and ``bundle.json`` (which
columns are classified). The lineage steps come from the embedded lineage store
(``--home``) when it recorded the run.

``dq report --history DATASET`` renders the dataset's history page instead: its runs recorded
in the embedded stores (``--home``: ``dq validate --record``, ``dq run``), through the same
facade the API's history route calls (:mod:`services.history`).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TypeVar

from pydantic import BaseModel, ValidationError

from cli.environment import ENVIRONMENT, TENANT, libraries_default, option_default
from cli.output import DEFAULT_HOME, EXIT_OK, _out
from dq_core.errors import InputError, ObjectNotFound, OptionError

if TYPE_CHECKING:
    from dq_core.lineage.models import StepRecord
    from dq_core.results.run import RunResult

DEFAULT_LIMIT: Final = 50  # services.history's: the newest runs on a history page
MAX_LIMIT: Final = 500

M = TypeVar("M", bound=BaseModel)


def _read(path: Path, model: type[M], what: str) -> M:
    try:
        return model.model_validate_json(path.read_bytes())
    except OSError as exc:
        raise InputError(f"{path}: cannot read it: {exc.strerror}") from None
    except ValidationError as exc:
        raise InputError(f"{path}: not {what} ({exc.error_count()} problem(s))") from None


def _beside(folder: Path, name: str, model: type[M], what: str) -> M | None:
    path = folder / name
    return _read(path, model, what) if path.is_file() else None


def _steps(home: Path, result: RunResult) -> list[StepRecord]:
    database = home / "lineage.db"
    if not database.is_file():
        return []
    from app.bootstrap import stores  # noqa: PLC0415 - the composition root picks the lineage store

    try:
        return stores(home).lineage.steps(result.tenant, result.run_id)
    except ObjectNotFound:
        return []


def _history_tenant(args: argparse.Namespace) -> str:
    """--tenant, else $DQ_TENANT, else the only tenant of the libraries."""
    if args.tenant:
        return str(args.tenant)
    from services import workspace  # noqa: PLC0415 - only when the tenant is not given

    tenants = sorted({obj.tenant for obj in workspace.workspace_from_directory(args.libraries).index})
    if len(tenants) != 1:
        raise OptionError(f"give --tenant (the libraries in {args.libraries} hold {', '.join(tenants) or 'none'})")
    return tenants[0]


def cmd_history(args: argparse.Namespace) -> int:
    from app.bootstrap import stores  # noqa: PLC0415 - the composition root picks the stores
    from services.history import HistoryQuery, history_html  # noqa: PLC0415

    if args.source is not None:
        raise OptionError("give a run folder or --history DATASET, not both")
    query = HistoryQuery(args.history, environment=args.env, limit=args.limit)
    tenant = _history_tenant(args)
    wired = stores(args.home)
    html = history_html(wired.lineage, wired.blobs, tenant, query)
    out: Path = args.out or Path(f"history-{args.history}.html")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html, encoding="utf-8")
    _out(f"history of dataset {args.history} ({tenant}) → {out}")
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    if args.history is not None:
        return cmd_history(args)
    if args.source is None:
        raise OptionError("give a run folder (or its result.json), or --history DATASET")
    # the models and the renderer only for this command: every dq command builds this parser
    from dq_core.bundle.models import ResolvedBundle  # noqa: PLC0415
    from dq_core.cleansing.engine import CleansingReport  # noqa: PLC0415
    from dq_core.profiling.models import ProfileResult  # noqa: PLC0415
    from dq_core.reporting import governance_of, render_report  # noqa: PLC0415
    from dq_core.results.run import RunResult  # noqa: PLC0415

    source: Path = args.source
    result_path = source / "result.json" if source.is_dir() else source
    if not result_path.is_file():
        raise InputError(f"{result_path}: no such file (give a run folder or its result.json)")
    folder = result_path.parent
    result = _read(result_path, RunResult, "a dq.run-result/v1 document")
    if result.cleansing is None:
        cleansing = _beside(folder, "cleansing.json", CleansingReport, "a cleansing report")
        result = result.model_copy(update={"cleansing": cleansing})
    profile = _beside(folder, "profile.json", ProfileResult, "a dq.profile/v1 document")
    bundle = _beside(folder, "bundle.json", ResolvedBundle, "the run's bundle")
    html = render_report(
        result,
        profile=profile,
        steps=_steps(args.home, result),
        governance=governance_of(bundle) if bundle else None,
    )
    out: Path = args.out or folder / "report.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html, encoding="utf-8")
    _out(f"{result.status.value.upper()}: report of run {result.run_id} → {out}")
    return EXIT_OK


def add_report_parser(commands: Any) -> None:
    report = commands.add_parser(
        "report", help="render report.html from a run folder or its result.json, or a dataset's history page"
    )
    report.add_argument("source", type=Path, nargs="?", help="a run folder (dq run --out) or a result.json")
    report.add_argument(
        "--out",
        type=Path,
        help="the HTML file to write (default: report.html next to result.json; history-DATASET.html)",
    )
    report.add_argument(
        "--home", type=Path, default=DEFAULT_HOME, help="embedded stores holding the recorded runs (default: .dq)"
    )
    history = report.add_argument_group("history page", "one page over a dataset's recorded runs (--home)")
    history.add_argument("--history", metavar="DATASET", help="render DATASET's history page instead of one run's")
    history.add_argument(
        "--tenant", **option_default(TENANT), help="tenant (default: $DQ_TENANT, else the only one in the libraries)"
    )
    history.add_argument(
        "--env", **option_default(ENVIRONMENT), help="environment (default: $DQ_ENV, else the runs' only one)"
    )
    history.add_argument(
        "--limit",
        type=int,
        default=DEFAULT_LIMIT,
        help=f"the newest N runs (default: {DEFAULT_LIMIT}, at most {MAX_LIMIT})",
    )
    history.add_argument(
        "--libraries", type=Path, default=libraries_default(), help="to find the only tenant (default: libraries)"
    )
    report.set_defaults(handler=cmd_report)
