"""``dq suggest``: profile one file and draft a contract from it, checked on that file.

The file is read once, chunk by chunk, through the guarded reader ``dq profile`` uses
(:class:`~dq_core.ingest.stream.ChunkedRead`, types inferred from the first rows): each chunk gives
its profile state and its shape counts, merged at the end (:mod:`dq_core.authoring.suggest` drafts
from them). Then the draft is **validated on the same file with the same code as** ``dq validate``
(:func:`~dq_core.runs.check.validate_file`): a suggested rule that fails there (an estimated
distinct count, a type inferred from the first rows that a later row breaks) is dropped, and an
added column whose values do not all convert goes back to text; until the draft passes, at most
:data:`ROUNDS` times. What was dropped, and why, is in the draft (``extensions.dq_suggest.dropped``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from dq_core.authoring.suggest import Draft, DraftTarget, ShapeCounts, SourceFacts, draft_contract, shape_counts
from dq_core.bundle.models import ResolvedBundle
from dq_core.bundle.resolve import resolve_bundle
from dq_core.config.base import Kind, ObjectKey, Versioned
from dq_core.contracts.models import DataContract
from dq_core.ingest.read import input_format
from dq_core.ingest.stream import ChunkedRead
from dq_core.libraries.infra import IngestLimits
from dq_core.ports import ConfigReader
from dq_core.runs.check import CONFORM_PREFIX, DEFAULT_CHUNK_ROWS, validate_file
from dq_core.validation.results import RuleResult, RuleStatus

ROUNDS = 3
"""Validations of the draft at most: each round drops what failed in the one before."""


def read_facts(path: Path, limits: IngestLimits | None = None, chunk_rows: int = DEFAULT_CHUNK_ROWS) -> SourceFacts:
    """Profile and shape counts of a file, in one chunked read (memory bounded by the chunk)."""
    from dq_core.profiling.finish import finish_profile  # noqa: PLC0415 - numpy and sketches: only to profile
    from dq_core.profiling.state import merge_profile_states, profile_state  # noqa: PLC0415

    input_format(path)
    states, shapes = [], ShapeCounts()
    with ChunkedRead(path, limits or IngestLimits(), infer=True) as reading:
        for chunk in reading.chunks(chunk_rows):
            states.append(profile_state(chunk))
            shapes = shapes.merge(shape_counts(chunk))
        sha256 = reading.sha256
    return SourceFacts(
        name=path.name, sha256=sha256, profile=finish_profile(merge_profile_states(states)), shapes=shapes
    )


class _WithDraft:
    """A config reader that also answers the draft (and otherwise asks ``reader``)."""

    def __init__(self, draft: DataContract, reader: ConfigReader | None) -> None:
        self.draft = draft
        self.reader = reader

    def _is_draft(self, tenant: str, environment: str, key: ObjectKey) -> bool:
        return (tenant, environment, key) == (self.draft.tenant, self.draft.environment.value, self.draft.key)

    def get(self, tenant: str, environment: str, key: ObjectKey) -> Versioned:
        if self._is_draft(tenant, environment, key) or self.reader is None:
            return self.draft
        return self.reader.get(tenant, environment, key)

    def versions(self, tenant: str, environment: str, kind: Kind, object_id: str) -> list[str]:
        known = self.reader.versions(tenant, environment, kind, object_id) if self.reader else []
        mine = self._is_draft(tenant, environment, ObjectKey(kind=kind, id=object_id, version=self.draft.version))
        return [*known, self.draft.version] if mine and self.draft.version not in known else known


def _why(rule: RuleResult) -> str:
    if rule.error:
        return f"could not be evaluated on the data: {rule.error}"
    if rule.unexpected_count is not None:
        return f"failed on the data: {rule.unexpected_count} unexpected value(s)"
    return f"failed on the data: observed {rule.observed_value}"


def draft_bundle(draft: Draft, reader: ConfigReader | None) -> ResolvedBundle:
    """The draft's dataset resolved, its references found through ``reader``."""
    return resolve_bundle(_WithDraft(draft.contract, reader), draft.contract, dataset=draft.dataset)


def verified(draft: Draft, path: Path, reader: ConfigReader | None, now: datetime | None = None) -> Draft:
    """The draft, less what fails when ``dq validate`` checks it on ``path`` (see the module)."""
    for _ in range(ROUNDS):
        bundle = draft_bundle(draft, reader)
        result, _profile = validate_file(path, bundle, now=now or datetime.now(UTC))
        assert result.validation is not None  # noqa: S101 - validate_file always validates
        bad = [r for r in result.validation.rules if r.status in (RuleStatus.FAILED, RuleStatus.ERROR)]
        failures = {r.rule_id: _why(r) for r in bad if r.rule_id in draft.suggested}
        untyped = {
            r.rule_id.removeprefix(CONFORM_PREFIX): r.message
            for r in bad
            if r.rule_id.startswith(CONFORM_PREFIX) and r.rule_id.removeprefix(CONFORM_PREFIX) in draft.added_columns
        }
        if not failures and not untyped:
            return draft
        draft = draft.without(failures, untyped)
    return draft


def suggest_file(
    path: Path,
    target: DraftTarget,
    *,
    base: DataContract | None = None,
    reader: ConfigReader | None = None,
    now: datetime | None = None,
) -> Draft:
    """Profile ``path`` and draft a contract for it (extending ``base``, whose references ``reader``
    resolves, when given), verified on ``path``."""
    existing = resolve_bundle(reader, base, dataset=target.dataset) if base is not None and reader else None
    limits = existing.infra.limits if existing else None
    facts = read_facts(path, limits)
    draft = draft_contract(facts, target, base=base, existing=existing)
    return verified(draft, path, reader, now)
