"""What a document may ask for, measured before any of it is validated or run.

Strawberry's depth and alias limiters, and graphql-core's own validation, walk a
document with its fragments expanded: a fragment that spreads the next one twice,
twenty levels deep, is a million fields written in 800 bytes, and the event loop is
busy with it for seconds. Here each fragment is measured once and its figures reused
wherever it is spread, so measuring costs one pass over the text whatever the document
would expand to. Only a document inside every limit goes on to the full validation.

The cost is an estimate of the objects a query resolves: a connection's page size
(`first`, or the default) times what each node asks for, lists without pages counted
as `list_factor` items, scalars free. It stops the "30 aliases × persons(first: 500)"
request before the first row is read.
"""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from graphql import GraphQLError, GraphQLSchema, validate
from graphql.language import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
)
from graphql.type import (
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLObjectType,
    get_named_type,
    get_nullable_type,
)
from strawberry.extensions import SchemaExtension
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule

from schema.errors import public_graphql_error
from tenants.problems import ErrorCode, Problem


@dataclass(frozen=True)
class Limits:
    max_depth: int = 10
    max_aliases: int = 30
    max_cost: int = 50_000
    max_fields: int = 5_000  # field selections once fragments are expanded
    page_default: int = 50
    page_max: int = 500
    list_factor: int = 3  # items assumed in a list that has no page size


@dataclass(frozen=True)
class Measure:
    depth: int = 0
    aliases: int = 0
    cost: int = 0
    fields: int = 0

    def __add__(self, other: Measure) -> Measure:
        return Measure(
            max(self.depth, other.depth), self.aliases + other.aliases, self.cost + other.cost, self.fields + other.fields
        )


class FragmentCycle(Exception):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


class _Meter:
    """Measures selection sets; a fragment is measured once per page size it is spread at."""

    def __init__(self, schema: GraphQLSchema, document: DocumentNode, variables: dict[str, Any], limits: Limits) -> None:
        self.schema = schema
        self.variables = variables
        self.limits = limits
        self.fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        self.measured: dict[tuple[str, int], Measure] = {}
        self.open: set[str] = set()

    def operation(self, operation: OperationDefinitionNode) -> Measure:
        root = self.schema.get_root_type(operation.operation)
        return self.selections(operation.selection_set, root, self.limits.page_default)

    def selections(self, node: SelectionSetNode, parent: GraphQLNamedType | None, page: int) -> Measure:
        total = Measure()
        for selection in node.selections:
            if isinstance(selection, FieldNode):
                total += self.field(selection, parent, page)
            elif isinstance(selection, InlineFragmentNode):
                total += self.selections(selection.selection_set, self.condition(selection, parent), page)
            elif isinstance(selection, FragmentSpreadNode):
                total += self.spread(selection.name.value, page)
        return total

    def spread(self, name: str, page: int) -> Measure:
        key = (name, page)
        if key in self.measured:
            return self.measured[key]
        fragment = self.fragments.get(name)
        if fragment is None:
            return Measure()  # validation names the unknown fragment
        if name in self.open:
            raise FragmentCycle(name)
        self.open.add(name)
        measure = self.selections(fragment.selection_set, self.condition(fragment, None), page)
        self.open.discard(name)
        self.measured[key] = measure
        return measure

    def condition(self, node: InlineFragmentNode | FragmentDefinitionNode, parent: GraphQLNamedType | None) -> GraphQLNamedType | None:
        if node.type_condition is None:
            return parent
        return self.schema.get_type(node.type_condition.name.value)

    def field(self, node: FieldNode, parent: GraphQLNamedType | None, page: int) -> Measure:
        aliases = 1 if node.alias else 0
        if node.name.value.startswith("__"):
            # Introspection (GraphiQL's own query, off in production): no depth or cost.
            return Measure(0, aliases, 0, 1)
        if node.selection_set is None:
            return Measure(1, aliases, 0, 1)
        returns = _field_type(parent, node.name.value)
        named = get_named_type(returns) if returns is not None else None
        child_page = self.first(node) if named is not None and named.name.endswith("Connection") else page
        items = 1
        if returns is not None and isinstance(get_nullable_type(returns), GraphQLList):
            items = page if node.name.value == "edges" else self.limits.list_factor
        inner = self.selections(node.selection_set, named, child_page)
        return Measure(inner.depth + 1, aliases + inner.aliases, items * (1 + inner.cost), 1 + inner.fields)

    def first(self, node: FieldNode) -> int:
        for argument in node.arguments or ():
            if argument.name.value != "first":
                continue
            value: Any = None
            if isinstance(argument.value, IntValueNode):
                value = int(argument.value.value)
            elif isinstance(argument.value, VariableNode):
                value = self.variables.get(argument.value.name.value)
            if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                return min(value, self.limits.page_max)
        return self.limits.page_default


def _field_type(parent: GraphQLNamedType | None, name: str) -> Any:
    if isinstance(parent, (GraphQLObjectType, GraphQLInterfaceType)):
        definition = parent.fields.get(name)
        return definition.type if definition is not None else None
    return None


def operations(document: DocumentNode) -> Iterator[OperationDefinitionNode]:
    return (d for d in document.definitions if isinstance(d, OperationDefinitionNode))


def limit_errors(schema: GraphQLSchema, document: DocumentNode, variables: dict[str, Any] | None, limits: Limits) -> list[GraphQLError]:
    """Every limit the document's operations break, each as an error with a code."""
    meter = _Meter(schema, document, variables or {}, limits)
    errors: list[GraphQLError] = []
    for operation in operations(document):
        try:
            measure = meter.operation(operation)
        except FragmentCycle as cycle:
            return [_error(ErrorCode.FRAGMENT_CYCLE, name=cycle.name)]
        name = operation.name.value if operation.name else "-"
        if measure.fields > limits.max_fields:
            errors.append(_error(ErrorCode.QUERY_TOO_LARGE, operation=name, fields=measure.fields, limit=limits.max_fields))
        if measure.depth > limits.max_depth:
            errors.append(_error(ErrorCode.QUERY_TOO_DEEP, operation=name, depth=measure.depth, limit=limits.max_depth))
        if measure.aliases > limits.max_aliases:
            errors.append(_error(ErrorCode.TOO_MANY_ALIASES, operation=name, aliases=measure.aliases, limit=limits.max_aliases))
        if measure.cost > limits.max_cost:
            errors.append(_error(ErrorCode.QUERY_TOO_COSTLY, operation=name, cost=measure.cost, limit=limits.max_cost))
    return errors


def _error(code: ErrorCode, **params: object) -> GraphQLError:
    return public_graphql_error(Problem(code, params=params))


class ValidDocuments:
    """The query texts that passed validation, per schema, rule set and suggestion
    setting: a bounded LRU shared by every request of the process. Validation walks
    the whole document with some thirty rules (about a tenth of a page request); the
    same few documents come again and again. Only passes are kept: a failing document
    is validated again each time, so its errors are fresh objects for every request
    (they are localized and masked in place)."""

    def __init__(self, size: int = 512) -> None:
        self.size = size
        self._known: OrderedDict[tuple, None] = OrderedDict()

    def known(self, key: tuple) -> bool:
        if key in self._known:
            self._known.move_to_end(key)
            return True
        return False

    def add(self, key: tuple) -> None:
        self._known[key] = None
        if len(self._known) > self.size:
            self._known.popitem(last=False)


VALID_DOCUMENTS = ValidDocuments()


class DocumentLimits(SchemaExtension):
    """Measure first; validate only what fits. In production, validation errors do not
    suggest field names ("Did you mean …?"): they would map the schema for a stranger.
    The limits depend on the variables (page sizes) and are measured every time; the
    validation of a text already found valid is not repeated (`ValidDocuments`)."""

    def __init__(self, *, limits: Limits, hide_suggestions: bool) -> None:
        self.limits = limits
        self.hide_suggestions = hide_suggestions

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if context.pre_execution_errors is None and context.graphql_document is not None:
            schema = context.schema._schema
            errors = limit_errors(schema, context.graphql_document, context.variables, self.limits)
            if not errors:
                errors = self._validate(schema)
            context.pre_execution_errors = errors
        yield

    def _validate(self, schema: GraphQLSchema) -> list[GraphQLError]:
        context = self.execution_context
        rules = (*context.validation_rules, MaybeNullValidationRule, OneOfInputValidationRule)
        key = (schema, context.query, rules, self.hide_suggestions) if context.query else None
        if key is not None and VALID_DOCUMENTS.known(key):
            return []
        errors = validate(schema, context.graphql_document, rules, hide_suggestions=self.hide_suggestions)
        if key is not None and not errors:
            VALID_DOCUMENTS.add(key)
        return errors
