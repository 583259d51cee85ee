"""Semantic catalog: entities, their attributes, relationships between them.

Contracts map physical columns to catalog attributes, so a rule written once for
``customer.email`` applies to every feed that maps a column to it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from dq_core.config.base import (
    Id,
    Kind,
    Model,
    NonEmptyStr,
    Ref,
    Reference,
    Versioned,
    refs_at,
    sorted_by_id,
    unique_ids,
)
from dq_core.libraries.rules import LogicalType
from dq_core.libraries.schemas import check_attribute_path


class Attribute(Model):
    id: Id
    logical_type: LogicalType = LogicalType.STRING
    description: str = ""
    code_list: Id | None = None  # a code list of a referenced schema library
    rules: tuple[NonEmptyStr, ...] = ()  # rule templates applied to every column mapped here


class Entity(Model):
    id: Id
    description: str = ""
    attributes: tuple[Attribute, ...] = Field(min_length=1)

    @field_validator("attributes")
    @classmethod
    def _sorted(cls, items: tuple[Attribute, ...]) -> tuple[Attribute, ...]:
        unique_ids(items, "attribute")
        return sorted_by_id(items)


class Relationship(Model):
    id: Id
    from_: str = Field(alias="from")
    to: str
    cardinality: Literal["one_to_one", "one_to_many", "many_to_one", "many_to_many"] = "many_to_one"

    _paths = field_validator("from_", "to")(check_attribute_path)


class Catalog(Versioned):
    kind: Literal[Kind.CATALOG] = Kind.CATALOG
    rule_libraries: tuple[Ref, ...] = ()
    schema_libraries: tuple[Ref, ...] = ()
    entities: tuple[Entity, ...] = ()
    relationships: tuple[Relationship, ...] = ()

    @field_validator("entities", "relationships")
    @classmethod
    def _sorted(cls, items: tuple[Entity, ...]) -> tuple[Entity, ...]:
        unique_ids(items, "entry")
        return sorted_by_id(items)

    @model_validator(mode="after")
    def _relationships_resolve(self) -> Catalog:
        known = self.attribute_paths()
        for relationship in self.relationships:
            for end in (relationship.from_, relationship.to):
                if end not in known:
                    msg = f"relationship {relationship.id!r}: {end!r} is not an attribute of this catalog"
                    raise ValueError(msg)
        return self

    def attribute_paths(self) -> set[str]:
        return {f"{entity.id}.{attribute.id}" for entity in self.entities for attribute in entity.attributes}

    def attribute(self, path: str) -> Attribute | None:
        entity_id, _, attribute_id = path.partition(".")
        for entity in self.entities:
            if entity.id == entity_id:
                return next((a for a in entity.attributes if a.id == attribute_id), None)
        return None

    def references(self) -> tuple[Reference, ...]:
        return refs_at("rule_libraries", Kind.RULE_LIBRARY, self.rule_libraries) + refs_at(
            "schema_libraries", Kind.SCHEMA_LIBRARY, self.schema_libraries
        )
