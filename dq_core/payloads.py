"""Base of every outcome and payload model: immutable, strict about unknown keys.

Unlike authored configuration (:class:`dq_core.config.base.Model`) it keeps strings
as they are: sample values and observed text are data, not authoring.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Payload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
