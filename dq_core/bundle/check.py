"""Check a whole index of configuration: references exist, none form a cycle, and every
contract and job definition resolves into a bundle."""

from __future__ import annotations

from dq_core.bundle.resolve import missing_message, resolve_bundle
from dq_core.config.base import Kind, ObjectKey, Versioned
from dq_core.config.index import InMemoryConfigIndex
from dq_core.contracts.models import DataContract
from dq_core.errors import ConfigError, LoadError, ObjectNotFound, ResolutionError
from dq_core.jobs.models import JobDefinition


def _cycles(index: InMemoryConfigIndex) -> list[LoadError]:
    problems: list[LoadError] = []
    state: dict[tuple[str, str, ObjectKey], int] = {}  # 1 visiting, 2 done

    def visit(obj: Versioned, trail: list[str]) -> None:
        scoped = (obj.tenant, obj.environment.value, obj.key)
        state[scoped] = 1
        for reference in obj.references():
            try:
                target = index.get(
                    obj.tenant,
                    obj.environment.value,
                    ObjectKey(kind=reference.kind, id=reference.ref.id, version=reference.ref.version),
                )
            except ObjectNotFound:
                continue
            target_scoped = (target.tenant, target.environment.value, target.key)
            if state.get(target_scoped) == 1:
                path = [*trail, str(obj.key)]
                cycle = " -> ".join([*path[path.index(str(target.key)) :], str(target.key)])
                problems.append(ResolutionError(index.source(obj), reference.path, f"reference cycle: {cycle}"))
            elif target_scoped not in state:
                visit(target, [*trail, str(obj.key)])
        state[scoped] = 2

    for obj in index:
        if (obj.tenant, obj.environment.value, obj.key) not in state:
            visit(obj, [])
    return problems


def check_index(index: InMemoryConfigIndex) -> list[LoadError]:
    """Every reference exists, none form a cycle, and every contract and job resolves."""
    problems: list[LoadError] = []
    for obj in index:
        for reference in obj.references():
            key = ObjectKey(kind=reference.kind, id=reference.ref.id, version=reference.ref.version)
            try:
                index.get(obj.tenant, obj.environment.value, key)
            except ObjectNotFound:
                message = missing_message(index, obj.tenant, obj.environment.value, reference.kind, reference.ref)
                problems.append(ResolutionError(index.source(obj), reference.path, message))
    problems += _cycles(index)
    if problems:
        return problems
    for obj in index:
        try:
            if isinstance(obj, DataContract):
                for spec in obj.datasets:
                    resolve_bundle(index, obj, dataset=spec.name, location=index.source(obj))
            elif isinstance(obj, JobDefinition):
                contract = index.get(
                    obj.tenant,
                    obj.environment.value,
                    ObjectKey(kind=Kind.CONTRACT, id=obj.contract.id, version=obj.contract.version),
                )
                assert isinstance(contract, DataContract)  # noqa: S101
                resolve_bundle(index, contract, dataset=obj.dataset, job=obj, location=index.source(obj))
        except LoadError as exc:
            problems.append(exc)
        except ConfigError as exc:
            problems.append(LoadError(index.source(obj), "", exc.message))
    return problems
