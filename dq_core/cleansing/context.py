"""What cleansing needs besides the data: the bundle, and the tenant's hashing salt."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from dq_core.bundle.models import ResolvedBundle
from dq_core.cleansing.dedup import LISTED
from dq_core.validation.masking import hidden_in_outputs

REASON = "_dq_reject_reason"
STEP = "_dq_reject_step"


@dataclass(frozen=True)
class CleansingContext:
    bundle: ResolvedBundle
    salt: bytes | None = None  # from the secret store (governance salt_secret); needed to hash
    sample_clusters: int = 100  # duplicate clusters listed in the report
    merged_listed: int = LISTED  # merged row numbers each listed cluster names (its size counts them all)
    defer_masking: bool = False  # leave mask steps to ``mask_output`` (orchestrated runs)

    @cached_property
    def hidden(self) -> frozenset[str]:
        """Columns whose values reject reasons and reports never show (governance)."""
        return hidden_in_outputs(self.bundle)
