"""Resolve a contract's references into one bundle, and check a whole index.

Resolution follows pinned references only (no "latest"), flattens library
``extends`` chains (the extending library wins on equal ids), applies catalog
attribute rules to every mapped column, turns column constraints into rules, and
stamps every source object with its content hash.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from dq_core.bundle.models import (
    ResolvedAction,
    ResolvedBundle,
    ResolvedColumn,
    ResolvedDataset,
    ResolvedGovernance,
    ResolvedRule,
    RuleOrigin,
    SourceStamp,
)
from dq_core.catalog.models import Catalog
from dq_core.config.base import Kind, ObjectKey, Ref, Versioned
from dq_core.config.canonical import content_hash
from dq_core.contracts.models import DataContract, DatasetSpec, RuleBinding
from dq_core.errors import HintError, ObjectNotFound, ResolutionError
from dq_core.jobs.models import JobDefinition
from dq_core.libraries.actions import ActionCommon, ActionLibrary, Trigger
from dq_core.libraries.cleansing import CleansingPolicy, MapValuesStep
from dq_core.libraries.governance import AttributeClassification, GovernanceProfile, Masking
from dq_core.libraries.infra import InfraProfile
from dq_core.libraries.rules import (
    CodeListParams,
    CodeListRule,
    ColumnComparisonRule,
    CompoundUniqueRule,
    FreshnessRule,
    LengthParams,
    LengthRule,
    MetricRule,
    NotNullRule,
    OdcsMetric,
    RangeParams,
    RangeRule,
    RegexParams,
    RegexRule,
    RuleCommon,
    RuleLibrary,
    Scope,
    UniqueRule,
)
from dq_core.libraries.schemas import Classification, CodeList, ColumnSpec, SchemaLibrary
from dq_core.ports import ConfigReader
from dq_core.validation.hints import HintTemplateError, check_hint


def missing_message(reader: ConfigReader, tenant: str, environment: str, kind: Kind, ref: Ref) -> str:
    known = reader.versions(tenant, environment, kind, ref.id)
    hint = f" (known versions: {', '.join(known)})" if known else ""
    return f"{kind.value} {ref} does not exist in {tenant}/{environment}{hint}"


SENSITIVITY = list(Classification)  # least to most sensitive


@dataclass
class _Context:
    reader: ConfigReader
    tenant: str
    environment: str
    location: str  # the contract's source, for error messages
    stamps: dict[ObjectKey, SourceStamp]

    def fetch(self, kind: Kind, ref: Ref, path: str) -> Versioned:
        try:
            obj = self.reader.get(self.tenant, self.environment, ObjectKey(kind=kind, id=ref.id, version=ref.version))
        except ObjectNotFound:
            msg = missing_message(self.reader, self.tenant, self.environment, kind, ref)
            raise ResolutionError(self.location, path, msg) from None
        self.stamps[obj.key] = SourceStamp(kind=kind, id=obj.id, version=obj.version, sha256=content_hash(obj))
        return obj

    def fail(self, path: str, message: str) -> ResolutionError:
        return ResolutionError(self.location, path, message)


def _extends_chain(ctx: _Context, kind: Kind, ref: Ref, path: str, seen: tuple[str, ...] = ()) -> list[Versioned]:
    """The library and everything it extends, bases first (so later entries win)."""
    label = f"{kind.value} {ref}"
    if label in seen:
        raise ctx.fail(path, "reference cycle: " + " -> ".join([*seen, label]))
    obj = ctx.fetch(kind, ref, path)
    chain: list[Versioned] = []
    for index, base in enumerate(getattr(obj, "extends", ())):
        chain += _extends_chain(ctx, kind, base, f"{path} -> extends[{index}]", (*seen, label))
    return [*chain, obj]


# --- rule templates ------------------------------------------------------------------


@dataclass(frozen=True)
class _Template:
    library: str  # id@version of the library that defines it
    library_id: str
    rule: RuleCommon


def _templates(ctx: _Context, refs: Iterable[tuple[str, Ref]]) -> dict[str, list[_Template]]:
    found: dict[str, list[_Template]] = {}
    for path, ref in refs:
        merged: dict[str, RuleCommon] = {}
        for library in _extends_chain(ctx, Kind.RULE_LIBRARY, ref, path):
            assert isinstance(library, RuleLibrary)  # noqa: S101 - the kind was asked for
            merged.update({rule.id: rule for rule in library.rules if rule.id})
        for rule_id, rule in merged.items():
            found.setdefault(rule_id, []).append(_Template(str(ref), ref.id, rule))
    return found


def _lookup(ctx: _Context, templates: dict[str, list[_Template]], name: str, path: str) -> _Template:
    library_id, colon, rule_id = name.rpartition(":")
    candidates = templates.get(rule_id.strip().lower(), [])
    if colon:
        candidates = [t for t in candidates if t.library_id == library_id.strip().lower()]
    if not candidates:
        raise ctx.fail(path, f"rule template {name!r} is not in the referenced rule libraries")
    if len({t.library for t in candidates}) > 1:
        where = ", ".join(sorted({t.library for t in candidates}))
        raise ctx.fail(path, f"rule template {name!r} is ambiguous ({where}): write library:template")
    return candidates[0]


# --- schema libraries: column sets and code lists ------------------------------------------


def _schema_contents(
    ctx: _Context, refs: Iterable[tuple[str, Ref]]
) -> tuple[dict[str, SchemaLibrary], dict[str, CodeList]]:
    libraries: dict[str, SchemaLibrary] = {}
    code_lists: dict[str, CodeList] = {}
    for path, ref in refs:
        chain = _extends_chain(ctx, Kind.SCHEMA_LIBRARY, ref, path)
        for library in chain:
            assert isinstance(library, SchemaLibrary)  # noqa: S101
            code_lists.update({code_list.id: code_list for code_list in library.code_lists})
        top = chain[-1]
        assert isinstance(top, SchemaLibrary)  # noqa: S101
        libraries[ref.id] = _merge_schema_chain(chain)
    return libraries, code_lists


def _merge_schema_chain(chain: list[Versioned]) -> SchemaLibrary:
    top = chain[-1]
    assert isinstance(top, SchemaLibrary)  # noqa: S101
    sets = {}
    lists = {}
    for library in chain:
        assert isinstance(library, SchemaLibrary)  # noqa: S101
        sets.update({column_set.id: column_set for column_set in library.column_sets})
        lists.update({code_list.id: code_list for code_list in library.code_lists})
    return top.model_copy(update={"column_sets": tuple(sets.values()), "code_lists": tuple(lists.values())})


def _columns(ctx: _Context, dataset: DatasetSpec, index: int, libraries: dict[str, SchemaLibrary]) -> list[ColumnSpec]:
    columns: list[ColumnSpec] = []
    for ref_index, column_ref in enumerate(dataset.columns_from):
        path = f"datasets[{index}].columns_from[{ref_index}]"
        library = libraries.get(column_ref.library)
        if library is None:
            raise ctx.fail(path, f"schema library {column_ref.library!r} is not in schema_libraries")
        column_set = next((s for s in library.column_sets if s.id == column_ref.column_set), None)
        if column_set is None:
            raise ctx.fail(
                path, f"column set {column_ref.column_set!r} is not in schema library {column_ref.library!r}"
            )
        columns += column_set.columns
    overrides = {column.name for column in dataset.columns}
    return [column for column in columns if column.name not in overrides] + list(dataset.columns)


# --- governance ---------------------------------------------------------------------


def _governance(ctx: _Context, ref: Ref | None) -> tuple[ResolvedGovernance, dict[str, AttributeClassification]]:
    if ref is None:
        default = GovernanceProfile.model_validate(
            {"tenant": ctx.tenant, "environment": ctx.environment, "id": "default", "version": "1.0.0"}
        )
        chain: list[Versioned] = [default]
    else:
        chain = _extends_chain(ctx, Kind.GOVERNANCE_PROFILE, ref, "governance_profile")
    classified: dict[str, AttributeClassification] = {}
    for profile in chain:
        assert isinstance(profile, GovernanceProfile)  # noqa: S101
        classified.update({entry.attribute: entry for entry in profile.classifications})
    top = chain[-1]
    assert isinstance(top, GovernanceProfile)  # noqa: S101
    resolved = ResolvedGovernance(
        default_classification=top.default_classification,
        retention_days=top.retention_days,
        raw_value_roles=top.raw_value_roles,
        salt_secret=top.salt_secret,
    )
    return resolved, classified


def _resolve_column(
    column: ColumnSpec, governance: ResolvedGovernance, classified: dict[str, AttributeClassification]
) -> ResolvedColumn:
    entry = classified.get(column.attribute) if column.attribute else None
    governed = entry.classification if entry else governance.default_classification
    # a contract may tighten what governance says about a column, never loosen it
    candidates = [governed] if column.classification is None else [governed, column.classification]
    classification = max(candidates, key=SENSITIVITY.index)
    masking = entry.masking if entry else Masking.NONE
    data = column.model_dump()
    data.update(classification=classification, masking=masking)
    return ResolvedColumn.model_validate(data)


# --- rules --------------------------------------------------------------------------


class _RuleSet:
    def __init__(self) -> None:
        self.rules: list[ResolvedRule] = []
        self._ids: set[str] = set()

    def add(
        self, base_id: str, origin: RuleOrigin, rule: RuleCommon, columns: tuple[str, ...], **extra: str | None
    ) -> None:
        rule_id, n = base_id, 2
        while rule_id in self._ids:  # a readable suffix, only when the id is taken
            rule_id, n = f"{base_id}.{n}", n + 1
        self._ids.add(rule_id)
        self.rules.append(
            ResolvedRule.model_validate(
                {"id": rule_id, "origin": origin, "rule": rule.model_dump(), "columns": columns, **extra}
            )
        )


def _constraint_rules(
    dataset_name: str, columns: list[ColumnSpec], code_list_of: dict[str, str], rules: _RuleSet
) -> None:
    keys = sorted((c for c in columns if c.primary_key), key=lambda c: c.primary_key_position or 0)
    rule: RuleCommon
    for column in columns:
        name = column.name
        single_key = column.primary_key and len(keys) == 1
        if column.required or single_key:
            rules.add(f"{dataset_name}.{name}.required", "schema", NotNullRule(type="not_null"), (name,))
        if column.unique or single_key:
            rules.add(f"{dataset_name}.{name}.unique", "schema", UniqueRule(type="unique"), (name,))
        if column.pattern:
            rule = RegexRule(type="regex", params=RegexParams(pattern=column.pattern))
            rules.add(f"{dataset_name}.{name}.pattern", "schema", rule, (name,))
        if column.minimum is not None or column.maximum is not None:
            rule = RangeRule(type="range", params=RangeParams(min=column.minimum, max=column.maximum))
            rules.add(f"{dataset_name}.{name}.range", "schema", rule, (name,))
        if column.min_length is not None or column.max_length is not None:
            rule = LengthRule(type="length", params=LengthParams(min=column.min_length, max=column.max_length))
            rules.add(f"{dataset_name}.{name}.length", "schema", rule, (name,))
        if column.attribute in code_list_of:
            rule = CodeListRule(type="code_list", params=CodeListParams(code_list=code_list_of[column.attribute]))
            rules.add(f"{dataset_name}.{name}.code_list", "catalog", rule, (name,), attribute=column.attribute)
    if len(keys) > 1:
        rule = CompoundUniqueRule(type="compound_unique")
        rules.add(f"{dataset_name}.primary_key", "schema", rule, tuple(c.name for c in keys))


def _with_overrides(rule: RuleCommon, binding: RuleBinding) -> RuleCommon:
    update = {
        name: getattr(binding, name)
        for name in ("severity", "mostly", "message", "where", "dimension", "hint")
        if getattr(binding, name) is not None
    }
    return rule.model_copy(update={**update, "id": None})


def _bound_column(ctx: _Context, rule: RuleCommon, columns: tuple[str, ...], path: str) -> RuleCommon:
    """A freshness rule without ``params.column`` checks the one column it is bound to."""
    if not isinstance(rule, FreshnessRule) or rule.params.column is not None:
        return rule
    if len(columns) != 1:
        raise ctx.fail(path, "freshness needs params.column or exactly one bound column")
    return rule.model_copy(update={"params": rule.params.model_copy(update={"column": columns[0]})})


def _check_rule_columns(ctx: _Context, rule: RuleCommon, columns: tuple[str, ...], known: set[str], path: str) -> None:
    for column in columns:
        if column not in known:
            raise ctx.fail(path, f"column {column!r} is not in the dataset")
    if isinstance(rule, ColumnComparisonRule):
        for column in (rule.params.left, rule.params.right):
            if column not in known:
                raise ctx.fail(path, f"column {column!r} is not in the dataset")
    needs_columns = rule.scope in (Scope.COLUMN, Scope.COLUMNS)
    if isinstance(rule, MetricRule):
        needs_columns = rule.params.metric in (
            OdcsMetric.NULL_VALUES,
            OdcsMetric.MISSING_VALUES,
            OdcsMetric.INVALID_VALUES,
        )
    if needs_columns and not columns:
        raise ctx.fail(path, f"rule type {rule.type!r} needs columns (or an attribute) to apply to")


def _binding_rules(
    ctx: _Context,
    dataset: DatasetSpec,
    index: int,
    columns: list[ColumnSpec],
    templates: dict[str, list[_Template]],
    rules: _RuleSet,
) -> None:
    known = {column.name for column in columns}
    for b_index, binding in enumerate(dataset.bindings):
        path = f"datasets[{index}].bindings[{b_index}]"
        template: _Template | None = None
        if binding.rule is not None:
            template = _lookup(ctx, templates, binding.rule, path + ".rule")
            rule = template.rule
        else:
            assert binding.check is not None  # noqa: S101 - the model requires one of the two
            rule = binding.check
        bound = binding.columns
        if binding.attribute is not None:
            bound = tuple(c.name for c in columns if c.attribute == binding.attribute)
            if not bound:
                raise ctx.fail(
                    path + ".attribute", f"no column of dataset {dataset.name!r} maps to {binding.attribute!r}"
                )
        _check_rule_columns(ctx, rule, bound, known, path)
        if binding.hint is not None:
            try:
                check_hint(binding.hint, rule.type, type(rule.params).model_fields)
            except HintTemplateError as exc:
                raise HintError(ctx.location, path + ".hint", str(exc)) from None
        rules.add(
            _binding_rule_id(dataset.name, binding, rule, bound, template),
            "contract",
            _bound_column(ctx, _with_overrides(rule, binding), bound, path),
            bound,
            template=f"{template.library}:{template.rule.id}" if template else None,
            attribute=binding.attribute,
            odcs_id=binding.odcs_id,
        )


def _binding_rule_id(
    dataset_name: str, binding: RuleBinding, rule: RuleCommon, bound: tuple[str, ...], template: _Template | None
) -> str:
    """The binding id, else the ODCS quality id, else its name (slugified), else a readable slug:
    ``{dataset}.{columns}.{template or rule type}`` (a metric check by its metric: ``null_values``)."""
    if binding.id is not None:
        return binding.id
    if binding.odcs_id:
        return binding.odcs_id
    if binding.odcs_name and _slug(binding.odcs_name):
        return _slug(binding.odcs_name)
    if template is not None:
        name = template.rule.id
    elif isinstance(rule, MetricRule):
        name = _slug(rule.params.metric.value)
    else:
        name = rule.type
    return f"{dataset_name}.{'.'.join(bound) + '.' if bound else ''}{name}"


def _slug(text: str) -> str:
    """Free text as an id part: camelCase split, lower case, other characters -> ``_``."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", text)
    return re.sub(r"[^a-z0-9]+", "_", spaced.lower()).strip("_")


def _catalog_rules(
    ctx: _Context,
    catalog: Catalog | None,
    dataset: DatasetSpec,
    columns: list[ColumnSpec],
    templates: dict[str, list[_Template]],
    rules: _RuleSet,
) -> None:
    if catalog is None:
        return
    for column in columns:
        if column.attribute is None:
            continue
        attribute = catalog.attribute(column.attribute)
        if attribute is None:
            continue
        for name in attribute.rules:
            where = f"catalog {catalog.id}@{catalog.version}: {column.attribute}.rules"
            template = _lookup(ctx, templates, name, where)
            rules.add(
                f"{dataset.name}.{column.name}.{template.rule.id}",
                "catalog",
                _bound_column(ctx, template.rule.model_copy(update={"id": None}), (column.name,), where),
                (column.name,),
                template=f"{template.library}:{template.rule.id}",
                attribute=column.attribute,
            )


# --- actions --------------------------------------------------------------------------


def _actions(
    ctx: _Context, libraries: Iterable[tuple[str, Ref]], wanted: dict[str, set[Trigger]], path: str
) -> list[ResolvedAction]:
    available: dict[str, tuple[str, ActionCommon]] = {}
    for lib_path, ref in libraries:
        library = ctx.fetch(Kind.ACTION_LIBRARY, ref, lib_path)
        assert isinstance(library, ActionLibrary)  # noqa: S101
        for entry in library.actions:
            available[entry.id] = (str(ref), entry)
    resolved: list[ResolvedAction] = []
    needed = dict(wanted)
    for action_id in list(needed):  # fallbacks run too, so they are part of the bundle
        fallback = available[action_id][1].fallback if action_id in available else None
        while fallback is not None and fallback not in needed:
            needed[fallback] = set()
            fallback = available[fallback][1].fallback if fallback in available else None
    for action_id, triggers in sorted(needed.items()):
        if action_id not in available:
            raise ctx.fail(path, f"action {action_id!r} is not in the referenced action libraries")
        library_label, action = available[action_id]
        resolved.append(
            ResolvedAction.model_validate(
                {"library": library_label, "triggers": sorted(triggers), "action": action.model_dump()}
            )
        )
    return resolved


# --- the bundle ------------------------------------------------------------------------


def _code_lists_used(
    ctx: _Context, rules: list[ResolvedRule], policy: CleansingPolicy | None, available: dict[str, CodeList]
) -> tuple[CodeList, ...]:
    wanted: dict[str, str] = {}
    for rule in rules:
        if isinstance(rule.rule, CodeListRule):
            wanted[rule.rule.params.code_list] = f"rule {rule.id}"
    for index, step in enumerate(policy.steps if policy else ()):
        if isinstance(step, MapValuesStep):
            wanted[step.code_list] = f"cleansing_policy steps[{index}]"
    for code_list_id, where in wanted.items():
        if code_list_id not in available:
            raise ctx.fail(where, f"code list {code_list_id!r} is not in the referenced schema libraries")
    return tuple(available[code_list_id] for code_list_id in sorted(wanted))


def resolve_bundle(
    reader: ConfigReader,
    contract: DataContract,
    *,
    dataset: str | None = None,
    job: JobDefinition | None = None,
    location: str = "<contract>",
) -> ResolvedBundle:
    """Materialise one dataset of a contract (and optionally a job) into a bundle."""
    ctx = _Context(reader, contract.tenant, contract.environment.value, location, {})
    ctx.stamps[contract.key] = SourceStamp(
        kind=contract.kind, id=contract.id, version=contract.version, sha256=content_hash(contract)
    )
    try:
        spec = contract.dataset(dataset)
    except KeyError as exc:
        raise ctx.fail("datasets", str(exc.args[0])) from None
    index = contract.datasets.index(spec)

    catalog = ctx.fetch(Kind.CATALOG, contract.catalog, "catalog") if contract.catalog else None
    assert catalog is None or isinstance(catalog, Catalog)  # noqa: S101
    schema_refs = [(f"schema_libraries[{i}]", ref) for i, ref in enumerate(contract.schema_libraries)]
    if catalog is not None:
        schema_refs += [(f"catalog -> schema_libraries[{i}]", ref) for i, ref in enumerate(catalog.schema_libraries)]
    libraries, code_lists = _schema_contents(ctx, schema_refs)
    columns = _columns(ctx, spec, index, libraries)

    if catalog is not None:
        known = catalog.attribute_paths()
        for column in columns:
            if column.attribute is not None and column.attribute not in known:
                raise ctx.fail(
                    f"datasets[{index}].columns.{column.name}.attribute",
                    f"{column.attribute!r} is not in catalog {contract.catalog}",
                )
    elif any(column.attribute for column in columns):
        raise ctx.fail(
            f"datasets[{index}].columns", "columns map to catalog attributes but the contract names no catalog"
        )

    rule_refs = [(f"rule_libraries[{i}]", ref) for i, ref in enumerate(contract.rule_libraries)]
    if catalog is not None:
        rule_refs += [(f"catalog -> rule_libraries[{i}]", ref) for i, ref in enumerate(catalog.rule_libraries)]
    templates = _templates(ctx, rule_refs)

    code_list_of = {}
    if catalog is not None:
        for entity in catalog.entities:
            for attribute in entity.attributes:
                if attribute.code_list:
                    code_list_of[f"{entity.id}.{attribute.id}"] = attribute.code_list
    rules = _RuleSet()
    _constraint_rules(spec.name, columns, code_list_of, rules)
    _catalog_rules(ctx, catalog, spec, columns, templates, rules)
    _binding_rules(ctx, spec, index, columns, templates, rules)

    governance, classified = _governance(ctx, contract.governance_profile)
    policy = (
        ctx.fetch(Kind.CLEANSING_POLICY, contract.cleansing_policy, "cleansing_policy")
        if contract.cleansing_policy
        else None
    )
    assert policy is None or isinstance(policy, CleansingPolicy)  # noqa: S101
    infra_ref, infra_path = (
        (job.infra_profile, "job infra_profile")
        if job and job.infra_profile
        else (contract.infra_profile, "infra_profile")
    )
    infra = (
        ctx.fetch(Kind.INFRA_PROFILE, infra_ref, infra_path)
        if infra_ref
        else InfraProfile(tenant=contract.tenant, environment=contract.environment, id="default", version="1.0.0")
    )
    assert isinstance(infra, InfraProfile)  # noqa: S101

    action_libraries = [(f"action_libraries[{i}]", ref) for i, ref in enumerate(contract.action_libraries)]
    wanted: dict[str, set[Trigger]] = {}
    for action_id in contract.actions:
        wanted.setdefault(action_id, set())
    job_stamp = None
    if job is not None:
        action_libraries += [(f"job action_libraries[{i}]", ref) for i, ref in enumerate(job.action_libraries)]
        for trigger in Trigger:
            for action_id in getattr(job.actions, trigger.value):
                wanted.setdefault(action_id, set()).add(trigger)
        job_stamp = SourceStamp(kind=job.kind, id=job.id, version=job.version, sha256=content_hash(job))
    actions = _actions(ctx, action_libraries, wanted, "actions")
    # an action listed without an outcome runs on its own default trigger
    actions = [
        a if a.triggers or a.action.id not in wanted else a.model_copy(update={"triggers": (a.action.trigger,)})
        for a in actions
    ]

    return ResolvedBundle(
        tenant=contract.tenant,
        environment=contract.environment,
        contract=ctx.stamps[contract.key],
        job=job_stamp,
        dataset=ResolvedDataset(
            name=spec.name,
            entity=spec.entity,
            description=spec.description,
            physical_name=spec.physical_name,
            unexpected_columns=spec.unexpected_columns,
            columns=tuple(_resolve_column(column, governance, classified) for column in columns),
        ),
        rules=tuple(rules.rules),
        code_lists=_code_lists_used(ctx, rules.rules, policy, code_lists),
        cleansing=policy.steps if policy else (),
        infra=infra,
        governance=governance,
        actions=tuple(actions),
        default_phone_region=contract.default_phone_region,
        sources=tuple(sorted(ctx.stamps.values(), key=lambda s: (s.kind.value, s.id, s.version))),
        reference_datasets=contract.reference_datasets,
    )
