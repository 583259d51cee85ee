"""The per-process bundle cache of the run stages (``dq_core.runs.stages.parsed_bundle``).

Every activity of a run reads the same bundle; a worker process validates each distinct
content once (the sha256 of the bytes read is the key) and reuses the frozen model. Bytes
that do not hold what their ``sha256`` field claims are refused every time, even when a
genuine bundle with that claim is cached.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import ValidationError

from dq_core.bundle.models import ResolvedBundle
from dq_core.config.canonical import canonical_json
from dq_core.runs import stages
from services import workspace as service
from tests.conftest import LIBRARIES

SCOPE = service.Scope("contoso", "dev")


@pytest.fixture(scope="module")
def workspace() -> service.Workspace:
    return service.workspace_from_directory(LIBRARIES)


@pytest.fixture
def validations(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[bytes]]:
    """An empty cache, and the bytes of every bundle validation from now on."""
    monkeypatch.setattr(stages, "_BUNDLES", {})
    seen: list[bytes] = []
    original = ResolvedBundle.model_validate_json

    def counting(cls: type[ResolvedBundle], data: Any, **options: Any) -> ResolvedBundle:
        seen.append(bytes(data))
        return original(data, **options)

    monkeypatch.setattr(ResolvedBundle, "model_validate_json", classmethod(counting))
    yield seen


def _bytes(workspace: service.Workspace) -> bytes:
    return canonical_json(service.contract_bundle(workspace, SCOPE, "customers"))


def test_the_same_bytes_give_the_same_bundle_validated_once(
    workspace: service.Workspace, validations: list[bytes]
) -> None:
    data = _bytes(workspace)
    first = stages.parsed_bundle(data)
    again = [stages.parsed_bundle(bytes(data)) for _ in range(5)]  # equal bytes, other objects
    assert all(bundle is first for bundle in again)
    assert validations == [data]
    assert first.contract.id == "customers" and first.sha256 == json.loads(data)["sha256"]


def test_a_tampered_bundle_is_refused_every_time_even_beside_the_genuine_one(
    workspace: service.Workspace, validations: list[bytes]
) -> None:
    data = _bytes(workspace)
    genuine = stages.parsed_bundle(data)
    document = json.loads(data)
    document["tenant"] = "fabrikam"  # the content changes, the claimed sha256 stays the genuine one's
    tampered = json.dumps(document).encode("utf-8")
    assert document["sha256"] == genuine.sha256
    for _ in range(2):
        with pytest.raises(ValidationError, match="does not match its content"):
            stages.parsed_bundle(tampered)
    assert validations == [data, tampered, tampered]  # refused bytes are never cached
    assert stages.parsed_bundle(data) is genuine  # and the genuine content is still served


def test_other_bytes_are_validated_afresh(workspace: service.Workspace, validations: list[bytes]) -> None:
    data = _bytes(workspace)
    first = stages.parsed_bundle(data)
    spaced = json.dumps(json.loads(data), indent=2).encode("utf-8")  # the same bundle, other bytes
    other = canonical_json(service.job_bundle(workspace, SCOPE, "customers_daily"))  # another bundle
    assert stages.parsed_bundle(spaced) is not first
    assert stages.parsed_bundle(spaced) == first
    job = stages.parsed_bundle(other).job
    assert job is not None and job.id == "customers_daily"
    assert validations == [data, spaced, other]


def test_the_cache_keeps_a_bounded_number_of_bundles(workspace: service.Workspace, validations: list[bytes]) -> None:
    document = json.loads(_bytes(workspace))
    variants = [json.dumps(document, indent=width).encode("utf-8") for width in range(stages._BUNDLE_CACHE_SIZE + 1)]
    for data in variants:
        stages.parsed_bundle(data)
    assert len(stages._BUNDLES) == stages._BUNDLE_CACHE_SIZE
    stages.parsed_bundle(variants[-1])  # the newest is kept
    stages.parsed_bundle(variants[0])  # the oldest was let go: validated again
    assert validations == [*variants, variants[0]]
