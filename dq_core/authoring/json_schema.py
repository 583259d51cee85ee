"""JSON Schemas of the authoring kinds, generated from the pydantic models.

``schema_of(kind)`` is the model's validation schema (draft 2020-12, with the discriminated
unions of rules, steps, actions and triggers), completed where the model accepts more than
pydantic can say in a schema, so that an editor never flags a file the loader accepts:

* a field documented by a comment in the model's source gets that comment as description;
* a reference (``Ref``) may be written ``id@1.0.0`` as well as ``{id, version}``;
* a field with several spellings (the ODCS ``mustBeLessThan`` of a threshold) accepts each;
* ``kind`` is required at the top, as the loader requires it;
* each rule type, step and action type carries its example from the reference.

Editors read the files under ``schemas/`` (``dq schema --all --out schemas/``), named by a
``# yaml-language-server: $schema=...`` first line (docs/configuration.md).
"""

from __future__ import annotations

import json
from typing import Any, Final

from pydantic import AliasChoices, BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from dq_core.authoring.examples import ACTION_EXAMPLES, RULE_EXAMPLES, STEP_EXAMPLES
from dq_core.authoring.fields import field_description
from dq_core.config.base import Kind, Ref, Versioned
from dq_core.config.objects import MODEL_BY_KIND
from dq_core.identifiers import VERSION_PATTERN
from dq_core.libraries.actions import ActionCommon
from dq_core.libraries.cleansing import StepCommon
from dq_core.libraries.rules import RuleCommon
from dq_core.loading.readers import read_yaml

DRAFT: Final = "https://json-schema.org/draft/2020-12/schema"
REF_PATTERN: Final = rf"^\s*[A-Za-z][A-Za-z0-9_\-]*\s*@\s*{VERSION_PATTERN.strip('^$')}\s*$"
"""``id@version`` as the loader reads it: the id is trimmed and lower-cased before it is checked."""


def schema_file_name(kind: Kind) -> str:
    return f"{kind.value}.schema.json"


def _tags(model: type[BaseModel]) -> tuple[str, ...]:
    annotation = model.model_fields["type"].annotation
    return tuple(str(tag) for tag in getattr(annotation, "__args__", ()))


def example_of(model: type[BaseModel]) -> str | None:
    """The YAML example of a rule type, step or action model, if it is one."""
    for base, examples in ((RuleCommon, RULE_EXAMPLES), (StepCommon, STEP_EXAMPLES), (ActionCommon, ACTION_EXAMPLES)):
        if issubclass(model, base) and "type" in model.model_fields:
            tags = _tags(model)
            return examples.get(tags[0]) if tags else None
    return None


class AuthoringSchema(GenerateJsonSchema):
    """pydantic's generator, completed with what the models accept beyond their fields."""

    def model_schema(self, schema: core_schema.ModelSchema) -> JsonSchemaValue:
        json_schema = super().model_schema(schema)
        model: type[BaseModel] = schema["cls"]
        properties: dict[str, Any] = json_schema.get("properties", {})
        for name, info in model.model_fields.items():
            key = info.alias or name
            if key not in properties:
                continue
            described = field_description(model, name)
            if described and "description" not in properties[key]:
                properties[key]["description"] = described
            if isinstance(info.validation_alias, AliasChoices):
                for choice in info.validation_alias.choices:
                    if isinstance(choice, str) and choice not in properties:
                        properties[choice] = {**properties[key], "description": f"The ODCS spelling of `{key}`."}
        example = example_of(model)
        if example is not None:
            json_schema["examples"] = [read_yaml(example, "example")]
        if issubclass(model, Versioned):
            json_schema["required"] = sorted({"kind", *json_schema.get("required", ())})
        if model is Ref:
            written = {"type": "string", "pattern": REF_PATTERN, "description": "`id@version`, e.g. `core_rules@1.0.0`"}
            return {
                "title": json_schema.pop("title", "Ref"),
                "description": json_schema.pop("description", ""),
                "anyOf": [written, json_schema],
            }
        return json_schema


def schema_of(kind: Kind) -> dict[str, Any]:
    """The JSON Schema of one authoring kind, with ``$schema``, ``$id`` and a title."""
    generated = MODEL_BY_KIND[kind].model_json_schema(schema_generator=AuthoringSchema, mode="validation")
    header = {
        "$schema": DRAFT,
        "$id": f"urn:dq-platform:schema:{kind.value}",
        "title": f"dq-platform {kind.value}",
    }
    generated.pop("title", None)
    return {**header, **generated}


def schema_text(kind: Kind) -> str:
    """The schema as the committed file holds it: indented JSON, keys in the generator's order."""
    return json.dumps(schema_of(kind), indent=2, ensure_ascii=False) + "\n"


def all_schema_files() -> dict[str, str]:
    """File name -> content, one per authoring kind."""
    return {schema_file_name(kind): schema_text(kind) for kind in Kind}
