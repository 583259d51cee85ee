"""Governance in results: sample values of pii and confidential columns are masked
unless the caller holds one of the governance profile's raw-value roles."""

from __future__ import annotations

from dq_core.bundle.models import ResolvedBundle
from dq_core.libraries.governance import Role
from dq_core.libraries.schemas import Classification
from dq_core.validation.results import RuleResult, Sample

MASK = "***"
SENSITIVE = frozenset({Classification.PII, Classification.CONFIDENTIAL})


def sensitive_columns(bundle: ResolvedBundle) -> frozenset[str]:
    return frozenset(column.name for column in bundle.dataset.columns if column.classification in SENSITIVE)


def may_see_raw(bundle: ResolvedBundle, roles: frozenset[Role]) -> bool:
    return bool(roles & set(bundle.governance.raw_value_roles))


def hidden_in_outputs(bundle: ResolvedBundle) -> frozenset[str]:
    """Columns whose values a run's written outputs (rejects, cleansing report, evidence pack)
    may not show: those outputs are readable by DQ.Reader, so a sensitive value appears in
    them only when the governance profile lets a Reader see raw values."""
    return frozenset() if may_see_raw(bundle, frozenset({Role.READER})) else sensitive_columns(bundle)


def mask_samples(result: RuleResult, bundle: ResolvedBundle, roles: frozenset[Role]) -> RuleResult:
    if not result.unexpected_samples or may_see_raw(bundle, roles):
        return result
    hidden = sensitive_columns(bundle)
    if not hidden & {name for sample in result.unexpected_samples for name in sample.values}:
        return result
    samples = tuple(
        Sample(row=s.row, values={k: (MASK if k in hidden and v is not None else v) for k, v in s.values.items()})
        for s in result.unexpected_samples
    )
    return result.model_copy(update={"unexpected_samples": samples})
