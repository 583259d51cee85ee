"""``dq run --workers``: how many worker processes a run gets."""

from __future__ import annotations

import os

import pytest

from cli import run_command
from cli.main import build_parser
from dq_core.bundle.models import ResolvedBundle
from services import workspace as service
from tests.conftest import LIBRARIES


@pytest.fixture(scope="module")
def bundle() -> ResolvedBundle:
    workspace = service.workspace_from_directory(LIBRARIES)
    return service.job_bundle(workspace, service.Scope("contoso", "dev"), "customers_daily")


def _parse(*extra: str) -> int | None:
    args = build_parser().parse_args(["run", "data.csv", "--job", "customers_daily", *extra])
    workers: int | None = args.workers
    return workers


def test_by_default_one_worker_per_cpu_at_most_the_profiles_max_parallelism(
    bundle: ResolvedBundle, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _parse() is None
    parallelism = bundle.infra.max_parallelism
    for cpus, expected in ((1, 1), (parallelism, parallelism), (parallelism + 7, parallelism)):
        monkeypatch.setattr(run_command, "cpus", lambda cpus=cpus: cpus)
        assert run_command.worker_count(None, bundle) == expected


def test_an_explicit_count_wins_and_zero_means_threads_of_this_process(bundle: ResolvedBundle) -> None:
    assert run_command.worker_count(_parse("--workers", "3"), bundle) == 3
    assert run_command.worker_count(_parse("--workers", "0"), bundle) == 0


def test_the_cpus_are_the_ones_this_process_may_use() -> None:
    assert 1 <= run_command.cpus() <= (os.cpu_count() or 1)


@pytest.mark.parametrize("value", ["-1", "two", "1.5", ""])
def test_a_count_that_is_not_a_whole_number_is_refused(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        _parse("--workers", value)
    assert stopped.value.code == 2
    assert "--workers" in capsys.readouterr().err


def test_the_cpus_are_shared_out_among_the_workers_polars_thread_pools(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(run_command, "cpus", lambda: 8)
    for workers, threads in ((1, "8"), (2, "4"), (3, "2"), (16, "1")):
        monkeypatch.delenv("POLARS_MAX_THREADS", raising=False)
        run_command.share_cores(workers)
        assert os.environ["POLARS_MAX_THREADS"] == threads
    monkeypatch.setenv("POLARS_MAX_THREADS", "5")  # the user's setting wins
    run_command.share_cores(2)
    assert os.environ["POLARS_MAX_THREADS"] == "5"
