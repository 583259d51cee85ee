"""ODCS v3 ``slaProperties`` -> freshness rules, the helper of :mod:`dq_core.interop.odcs`.

A ``latency`` or ``freshness`` property with a number ``value``, a ``unit`` in days, hours
or minutes (d/day/days, h/hr/hour/hours, m/min/minute/minutes) and an ``element``
(``object.property``, by name or physical name; else the document's ``slaDefaultElement``)
that names a property of a schema object becomes a ``freshness`` binding on that column: its newest value is at most
that old at the run's clock. The SLA's ``id`` is the binding's ``odcs_id`` (and so the rule
id); without one the rule is named ``{dataset}.{column}.freshness``. Every other SLA property, and a latency
DQ cannot place or read, stays a warning. The section itself is carried through and
written back unchanged; the bindings it gave are recognised on export and not written again.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dq_core.contracts.models import RuleBinding
from dq_core.interop.odcs_common import Notes

CHECKED = frozenset({"latency", "freshness"})
_UNITS = {
    **dict.fromkeys(("d", "day", "days"), ("D", False)),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), ("H", True)),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), ("M", True)),
}


def sla_bindings(
    document: Mapping[str, Any], places: Mapping[str, tuple[str, str]], notes: Notes
) -> dict[str, list[RuleBinding]]:
    """Freshness bindings by dataset name. ``places``: each way an element may name a column
    (``object.property`` by name or physical name; the bare property when there is one
    object) -> (dataset, column)."""
    entries = document.get("slaProperties")
    if not isinstance(entries, list):
        if entries is not None:
            notes.warn("slaProperties: not a list; not interpreted by DQ, carried through on export")
        return {}
    default = document.get("slaDefaultElement")
    found: dict[str, list[RuleBinding]] = {}
    for index, entry in enumerate(entries):
        path = f"slaProperties[{index}]"
        if not isinstance(entry, Mapping):
            notes.warn(f"{path}: not a mapping; carried through on export")
            continue
        name = str(entry.get("property", ""))
        if name.lower() not in CHECKED:
            notes.warn(f"{path}: property {name!r} is not checked by DQ (only latency / freshness), carried through")
            continue
        element = entry.get("element") or default
        placed = places.get(element.strip()) if isinstance(element, str) else None
        age = _max_age(entry.get("value"), entry.get("unit"))
        if placed is None or age is None:
            what = "element" if placed is None else "value and unit (a number of d, h or m)"
            notes.warn(f"{path}: {name} not checked, its {what} cannot be read; carried through on export")
            continue
        dataset, column = placed
        binding = {
            "check": {
                "type": "freshness",
                "params": {"column": column, "max_age": age},
                "dimension": "timeliness",
                "message": str(entry.get("description") or f"{name} of {column} at most {age}"),
            },
            "columns": (column,),
            "odcs_id": None if entry.get("id") is None else str(entry["id"]),
        }
        found.setdefault(dataset, []).append(RuleBinding.model_validate(binding))
    return found


def _max_age(value: Any, unit: Any) -> str | None:
    """An ISO 8601 duration (P4D, PT6H, PT30M), or None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0 or value != int(value):
        return None
    read = _UNITS.get(str(unit).strip().lower()) if unit is not None else None
    if read is None:
        return None
    letter, timed = read
    return f"PT{int(value)}{letter}" if timed else f"P{int(value)}{letter}"
