"""docs/rules.md, rendered from the models: every rule type, cleansing step and action type
with its description (the model's docstring), a table of its parameters (name, type,
required, default, description) and an example that a test validates with the model.

The type column is read from the same JSON Schema editors use (``json_schema.py``), so the
page and the editor cannot disagree. ``dq schema --rules-md docs/rules.md`` writes the page;
a test regenerates it in memory and fails when the committed page differs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from enum import Enum
from typing import Any, Final

from pydantic import AliasChoices, BaseModel
from pydantic_core import PydanticUndefined

from dq_core.authoring.examples import BINDINGS_EXAMPLE
from dq_core.authoring.fields import field_description, model_description
from dq_core.authoring.json_schema import AuthoringSchema, example_of
from dq_core.libraries.actions import ActionCommon, ActionSpec, DeliveryPolicy, RetryPolicy
from dq_core.libraries.cleansing import CleansingStepSpec, StepCommon
from dq_core.libraries.rules import RULE_TYPES, RuleCommon, Scope, Threshold, rule_type_name
from dq_core.libraries.schemas import ColumnSpec
from dq_core.validation.hints import DEFAULT_HINTS

PAGE: Final = "docs/rules.md"
COMMAND: Final = "dq schema --rules-md docs/rules.md"

_SCOPES: Final = {
    Scope.COLUMN: "to one or more columns, each checked on its own",
    Scope.COLUMNS: "to two or more columns, checked together",
    Scope.DATASET: "none needed",
}
_SCALARS: Final = frozenset({"string", "integer", "number", "boolean"})


# --- words for types, defaults and descriptions ---------------------------------------------


def _code(value: object) -> str:
    text = str(value)
    return f"``{text}``" if "`" in text else f"`{text}`"


def _cell(text: str) -> str:
    return " ".join(text.replace("|", "\\|").split())


def _prose(text: str) -> str:
    """A docstring paragraph as one markdown line (``rst`` literals become `markdown` ones)."""
    return " ".join(text.replace("``", "`").split())


def _enum_text(values: Iterable[object]) -> str:
    listed = [_code(value) for value in values]
    return listed[0] if len(listed) == 1 else "one of " + ", ".join(listed)


def _choices(node: dict[str, Any], defs: dict[str, Any]) -> list[object] | None:
    """The allowed values when a node is an enum, a constant, or a union of those."""
    if "$ref" in node:
        return _choices(defs[node["$ref"].rsplit("/", 1)[-1]], defs)
    if "enum" in node:
        return list(node["enum"])
    if "const" in node:
        return [node["const"]]
    if "anyOf" in node:
        parts = [_choices(part, defs) for part in node["anyOf"] if part != {"type": "null"}]
        if parts and all(part is not None for part in parts):
            return [value for part in parts if part is not None for value in part]
    return None


def _bounds(node: dict[str, Any]) -> str:
    """Numeric bounds in words: ``≥ 3``, ``> 0, ≤ 60``, ``0 to 1``."""
    if "minimum" in node and "maximum" in node:
        return f"{node['minimum']:g} to {node['maximum']:g}"
    lower = [f"≥ {node['minimum']:g}"] if "minimum" in node else []
    lower += [f"> {node['exclusiveMinimum']:g}"] if "exclusiveMinimum" in node else []
    upper = [f"≤ {node['maximum']:g}"] if "maximum" in node else []
    upper += [f"< {node['exclusiveMaximum']:g}"] if "exclusiveMaximum" in node else []
    return ", ".join(lower + upper)


def _plural(text: str) -> str:
    words = text.split(" ")
    if words[-1] in ("string", "integer", "number", "boolean", "mapping"):
        words[-1] += "s"
        return " ".join(words)
    if text.startswith("one of "):
        return "values, each " + text
    return text


def type_text(node: dict[str, Any], defs: dict[str, Any]) -> str:
    """A JSON Schema node in words: ``non-empty list of strings``, ``integer ≥ 3``, ``one of `a`, `b```."""
    choices = _choices(node, defs)
    if choices is not None:
        return _enum_text(choices)
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        if name == "Ref":
            return "reference (`id@version`)"
        if name == "Threshold":
            return "[threshold](#thresholds)"
        return type_text(defs[name], defs)
    if "anyOf" in node:
        parts = [part for part in node["anyOf"] if part != {"type": "null"}]
        kinds = {part.get("type") for part in parts}
        if kinds >= _SCALARS:
            return "any scalar (string, number, boolean" + (" or null)" if len(parts) < len(node["anyOf"]) else ")")
        return " or ".join(dict.fromkeys(type_text(part, defs) for part in parts))
    kind = node.get("type")
    if kind == "array":
        if "prefixItems" in node:
            return "[" + ", ".join(type_text(item, defs) for item in node["prefixItems"]) + "]"
        text = "list of " + _plural(type_text(node.get("items", {}), defs))
        least = node.get("minItems", 0)
        return ("non-empty " + text) if least == 1 else (f"{text}, at least {least}" if least else text)
    if kind == "object":
        values = node.get("additionalProperties")
        return "mapping of strings to " + _plural(type_text(values, defs)) if isinstance(values, dict) else "mapping"
    text = str(kind) if kind else "any"
    if node.get("minLength") == 1:
        text = "non-empty " + text
    bounds = _bounds(node)
    if bounds:
        text += f", {bounds}" if bounds[0].isdigit() else f" {bounds}"
    if "pattern" in node:
        text += f" matching {_code(node['pattern'])}"
    return text


def _yaml_value(value: object) -> str:
    if isinstance(value, Enum):
        value = value.value
    if value is None:
        return "—"
    if isinstance(value, bool):
        return _code(str(value).lower())
    if isinstance(value, str):
        return _code(value) if value else '`""`'
    if isinstance(value, (tuple, list)):
        return _code("[" + ", ".join(str(item.value if isinstance(item, Enum) else item) for item in value) + "]")
    if isinstance(value, dict):
        return _code("{}") if not value else _code(value)
    return _code(value)


def _default(model: type[BaseModel], name: str) -> str:
    info = model.model_fields[name]
    if info.default_factory is not None:
        return _yaml_value(info.default_factory())  # type: ignore[call-arg]
    if info.default is PydanticUndefined:
        return "—"
    return _yaml_value(info.default)


def _names(model: type[BaseModel], name: str) -> str:
    info = model.model_fields[name]
    written = [info.alias or name]
    if isinstance(info.validation_alias, AliasChoices):
        written += [c for c in info.validation_alias.choices if isinstance(c, str) and c not in written]
    return " / ".join(_code(item) for item in written)


def field_table(model: type[BaseModel], skip: Iterable[str] = (), header: str = "parameter") -> list[str]:
    """The parameter table of a model (its fields minus ``skip``), or a line saying it has none."""
    schema = model.model_json_schema(schema_generator=AuthoringSchema)
    properties, defs = schema.get("properties", {}), schema.get("$defs", {})
    required = set(schema.get("required", ()))
    rows = []
    for name, info in model.model_fields.items():
        key = info.alias or name
        if name in skip or key not in properties:
            continue
        cells = (
            _names(model, name),
            type_text(properties[key], defs),
            "yes" if key in required else "",
            _default(model, name),
            field_description(model, name),
        )
        rows.append("| " + " | ".join(_cell(cell) for cell in cells) + " |")
    if not rows:
        return ["No parameters."]
    return [f"| {header} | type | required | default | description |", "|---|---|---|---|---|", *rows]


# --- the page ---------------------------------------------------------------------------------


def _paragraphs(model: type[BaseModel]) -> list[str]:
    lines = []
    for paragraph in model_description(model).split("\n\n"):
        text = _prose(paragraph)
        if text.startswith("Counts:"):
            text = "**Counts:**" + text.removeprefix("Counts:")
        lines += [text, ""]
    return lines


def _summary(model: type[BaseModel]) -> str:
    """The first sentence of the description (a full stop outside parentheses ends it)."""
    text = _prose(model_description(model).split("\n\n")[0])
    depth = 0
    for index, char in enumerate(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "." and depth == 0 and (index + 1 == len(text) or text[index + 1] == " "):
            return text[: index + 1]
    return text


def _example(model: type[BaseModel], indent_as_list: bool = True) -> list[str]:
    example = example_of(model)
    if example is None:
        return []
    lines = example.rstrip("\n").splitlines()
    if indent_as_list:
        lines = ["- " + lines[0], *("  " + line for line in lines[1:])]
    return ["```yaml", *lines, "```", ""]


def _tags(model: type[BaseModel]) -> tuple[str, ...]:
    annotation = model.model_fields["type"].annotation
    return tuple(str(tag) for tag in getattr(annotation, "__args__", ()))


def _members(union: object) -> tuple[type[BaseModel], ...]:
    return tuple(getattr(union, "__origin__").__args__)  # noqa: B009 - Annotated[Union, Field] keeps its union here


def _heading(kind: str, model: type[BaseModel]) -> str:
    tags = _tags(model)
    anchors = "".join(f'<a id="{kind}-{tag}"></a>' for tag in tags)
    return f"### {' / '.join(_code(tag) for tag in tags)} {anchors}"


def _index(kind: str, models: Iterable[type[BaseModel]]) -> list[str]:
    rows = ["| type | what it does |", "|---|---|"]
    for model in models:
        links = ", ".join(f"[{_code(tag)}](#{kind}-{tag})" for tag in _tags(model))
        rows.append(f"| {links} | {_cell(_summary(model))} |")
    return [*rows, ""]


_INTRO: Final = f"""\
# Rule reference

<!-- Generated from the pydantic models by `{COMMAND}` (dq_core/authoring/reference.py).
     Edit the models' docstrings and Field descriptions, then run the command; a test fails
     while this page and the models differ. -->

Every rule type, cleansing step and action type the loader accepts: what it checks or does,
its parameters, and an example. The same models give the JSON Schemas under `schemas/`, which
an editor uses to complete and check authoring files as they are typed (docs/configuration.md,
Editor support). Semantics shared by every rule (nulls, `mostly`, `where`, SQL, dates) are in
docs/validation.md.

Contents: [datasets, columns and bindings](#datasets-columns-and-bindings) · [rules](#rules) ·
[thresholds](#thresholds) · [rule types](#rule-types) · [cleansing steps](#cleansing-steps) ·
[actions](#actions)
"""

DATASETS_TEXT: Final = """\
## Datasets, columns and bindings

A contract (`kind: contract`) describes its `datasets:`. A dataset has a `name` (an id), a
`description`, the catalog `entity` it describes, its `physical_name` in the source, its
`columns` (and those of schema library column sets, `columns_from`, each written
`{{library: reference_data, column_set: audit_columns}}`), what ingest does with a column it
does not declare (`unexpected_columns`: `keep`, `drop` or `reject_file`), and its rule `bindings`.

A column (an item of `columns`) is its `name` and what is known of it; its constraints become
rules of the dataset, so simple checks need no binding:

{columns}

A binding applies a rule: `rule` names a template of the contract's rule libraries
(`library:template` when two define it) or `check` writes the rule inline; `columns` (or the
catalog `attribute`) are what it checks; `severity`, `mostly`, `message`, `where`,
`dimension` and `hint` (the remediation hint, docs/validation.md) override the template's; `id`
names its result; `odcs_id` and `odcs_name` keep the id and the name of the ODCS quality item it
came from (without an `id`, they name the result):

```yaml
{bindings}```
"""

_RULES_TEXT: Final = """\
## Rules

A rule is written once as a template in a rule library (`kind: rule_library`, under `rules:`)
and applied by bindings, or written inline in a binding. Fields every rule carries, whatever
its `type` (its `params` are listed per type below):

{common}

**How a rule's result is counted.** `element_count` is the rows in scope (the rows its `where`
matches); `missing_count` the rows whose checked value is null, which value rules skip (only
`not_null` is about nulls); `unexpected_count` the values or rows that fail. A rule passes when
at least `mostly` of the non-null values in scope pass; a rule that compares one number with a
[threshold](#thresholds) passes when every operator given holds. A rule that cannot be evaluated
(a missing column, SQL that does not run) has status `error` with its reason; the run fails when
an error-severity rule failed or any rule errored.
"""

_THRESHOLD_TEXT: Final = """\
## Thresholds

Rules that observe one number (`row_count`, `column_statistic`, `metric`, `custom_sql`) compare
it with a threshold: every operator given must hold, at least one must be given. Each operator
may be written in snake_case or in the ODCS camelCase spelling. An observed value that is null
(a mean over no rows) fails.

"""


def _rules_section() -> list[str]:
    lines = [
        DATASETS_TEXT.format(columns="\n".join(field_table(ColumnSpec, header="field")), bindings=BINDINGS_EXAMPLE),
        _RULES_TEXT.format(common="\n".join(field_table(RuleCommon, skip=("type", "params")))),
        _THRESHOLD_TEXT + "\n".join(field_table(Threshold)) + "\n",
        "## Rule types\n",
        *_index("rule", RULE_TYPES),
    ]
    for model in RULE_TYPES:
        params: type[BaseModel] = model.model_fields["params"].annotation  # type: ignore[assignment]
        scope = _SCOPES[params.scope]  # type: ignore[attr-defined]
        how = (
            "chunk by chunk, counts merged (row-local)"
            if params.row_local  # type: ignore[attr-defined]
            else "over the whole dataset"
        )
        lines += [_heading("rule", model), "", *_paragraphs(model), f"*Binding:* {scope}. *Evaluated:* {how}.", ""]
        lines += [f"*Default hint* (`hint` overrides it): {DEFAULT_HINTS[rule_type_name(model)]}", ""]
        lines += ["`params`:", "", *field_table(params), "", *_example(model)]
    return lines


def _steps_section() -> list[str]:
    steps = _members(CleansingStepSpec)
    common = field_table(StepCommon)
    lines = [
        "## Cleansing steps\n",
        "A cleansing policy (`kind: cleansing_policy`) lists `steps:`, applied in the order written"
        " (docs/cleansing.md). Fields every step carries, besides its `type`:\n",
        *common,
        "",
        *_index("step", steps),
    ]
    for model in steps:
        lines += [_heading("step", model), "", *_paragraphs(model)]
        lines += [*field_table(model, skip=("type", *StepCommon.model_fields)), "", *_example(model)]
    return lines


def _actions_section() -> list[str]:
    actions = _members(ActionSpec)
    lines = [
        "## Actions\n",
        "An action library (`kind: action_library`) lists `actions:`, run after a run has its verdict"
        " (docs/actions.md). Credentials are always `secret://name` references. Fields every action carries,"
        " besides its `type`:\n",
        *field_table(ActionCommon),
        "",
        "Retries: every action takes `max_attempts` and `backoff_seconds`; those that deliver over the"
        " network (webhook, teams, slack, email, openlineage, ticket) also take `timeout_seconds`:\n",
        *field_table(DeliveryPolicy),
        "",
        *_index("action", actions),
    ]
    for model in actions:
        own = (*ActionCommon.model_fields, *DeliveryPolicy.model_fields, "type")
        retries = "timeout and retries" if issubclass(model, DeliveryPolicy) else "retries"
        lines += [_heading("action", model), "", *_paragraphs(model)]
        if issubclass(model, RetryPolicy):
            lines += [f"*Also:* the common fields and the {retries} above.", ""]
        lines += [*field_table(model, skip=own), "", *_example(model)]
    return lines


def render_rules_md() -> str:
    """The whole page, as committed at docs/rules.md."""
    lines = [_INTRO, *_rules_section(), *_steps_section(), *_actions_section()]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).rstrip("\n") + "\n"
