"""Job definition: which contract runs, when it runs, and what happens after."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field, field_validator

from dq_core.config.base import (
    Kind,
    Model,
    NonEmptyStr,
    Ref,
    Reference,
    Versioned,
    refs_at,
)

_CRON_FIELD = re.compile(r"^(\*|\d+(-\d+)?)(/\d+)?(,(\*|\d+(-\d+)?)(/\d+)?)*$")
_CRON_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))


def check_cron(expression: str) -> str:
    """A five-field cron expression (minute hour day month weekday), numbers only."""
    fields = expression.split()
    if len(fields) != 5:  # noqa: PLR2004 - five fields is the definition of cron
        msg = f"{expression!r} is not a five-field cron expression (minute hour day month weekday)"
        raise ValueError(msg)
    for field, (low, high) in zip(fields, _CRON_RANGES, strict=True):
        if not _CRON_FIELD.match(field):
            msg = f"cron field {field!r} is not valid"
            raise ValueError(msg)
        for number in re.findall(r"(?<!/)\b\d+", field):
            if not low <= int(number) <= high:
                msg = f"cron field {field!r}: {number} is outside {low}-{high}"
                raise ValueError(msg)
    return " ".join(fields)


class ManualTrigger(Model):
    type: Literal["manual"]


class BlobTrigger(Model):
    """Starts the job when a blob lands under a path of the tenant's container.

    ``path_pattern`` is a glob relative to the container, e.g. ``landing/customers/*.csv``.
    """

    type: Literal["blob"]
    path_pattern: NonEmptyStr


class ScheduleTrigger(Model):
    type: Literal["schedule"]
    cron: NonEmptyStr
    timezone: str = "UTC"
    input_uri: NonEmptyStr  # the file or prefix a scheduled run reads

    _cron = field_validator("cron")(check_cron)


TriggerSpec = Annotated[ManualTrigger | BlobTrigger | ScheduleTrigger, Field(discriminator="type")]


class OutcomeActions(Model):
    """Action ids (from the job's action libraries) per run outcome."""

    on_success: tuple[NonEmptyStr, ...] = ()
    on_failure: tuple[NonEmptyStr, ...] = ()
    on_anomaly: tuple[NonEmptyStr, ...] = ()
    on_error: tuple[NonEmptyStr, ...] = ()
    always: tuple[NonEmptyStr, ...] = ()

    def all_ids(self) -> set[str]:
        return {
            action_id
            for ids in (self.on_success, self.on_failure, self.on_anomaly, self.on_error, self.always)
            for action_id in ids
        }


class JobDefinition(Versioned):
    kind: Literal[Kind.JOB_DEFINITION] = Kind.JOB_DEFINITION
    contract: Ref
    dataset: str | None = None  # defaults to the contract's first dataset
    triggers: tuple[TriggerSpec, ...] = (ManualTrigger(type="manual"),)
    action_libraries: tuple[Ref, ...] = ()
    actions: OutcomeActions = OutcomeActions()
    infra_profile: Ref | None = None  # overrides the contract's

    def references(self) -> tuple[Reference, ...]:
        return (
            refs_at("contract", Kind.CONTRACT, self.contract)
            + refs_at("action_libraries", Kind.ACTION_LIBRARY, self.action_libraries)
            + refs_at("infra_profile", Kind.INFRA_PROFILE, self.infra_profile)
        )
