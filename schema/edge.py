"""Every argument value checked once, at the edge, before any resolver sees it.

Crafted input must never reach SQL as a surprise: a NUL byte, an amount of 1E+400, a
date in year 1, a year 0, an ID beyond bigint. Each argument and input field is
checked by its GraphQL type (and, for `year`, its name) wherever it appears in the
operation, literal or variable:

- String and ID: no control characters but tab and line breaks, no lone surrogates, at
  most `max_text` characters (the domain has tighter limits where a name is meant);
- Decimal: a finite number below 10^10 with at most 4 decimals (NUMERIC(12,2) holds it);
- Date, DateTime: years 1900 to 2100;
- Int named `year`: 2000 to 2100.

Global IDs and cursors have their one place in schema/relay.py, where they are decoded:
shape and range (an id in bigint), so a mutation can still report a bad ID beside its
other problems, as NOT_FOUND of that field.

A query breaking any of them fails whole with the error's code; a mutation gets its
problems as `userErrors` (`schema.mutations.run_mutation` reads them) and runs nothing.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from graphql import ExecutionResult, GraphQLError, GraphQLSchema
from graphql.language import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
)
from graphql.type import (
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLScalarType,
    get_named_type,
    get_nullable_type,
)
from graphql.utilities import value_from_ast_untyped
from strawberry.extensions import SchemaExtension

from schema.errors import public_graphql_error
from schema.limits import operations
from tenants.problems import ErrorCode, Problem

MAX_TEXT = 2_000
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_MAX_NUMBER = Decimal(10) ** 10
YEARS = range(2000, 2101)
CALENDAR = range(1900, 2101)


@dataclass
class EdgeProblems:
    """Problems found, by the response key of the root field they were found under."""

    by_root: dict[str, list[Problem]] = field(default_factory=dict)

    def add(self, root: str, problem: Problem) -> None:
        self.by_root.setdefault(root, []).append(problem)

    def of(self, root: str) -> list[Problem]:
        return self.by_root.get(root, [])


Fault = tuple[ErrorCode, dict[str, Any]]  # the code and the values its message names


def text_problem(value: str, max_length: int = MAX_TEXT) -> Fault | None:
    if _CONTROL.search(value):
        return ErrorCode.INVALID_TEXT, {}
    if len(value) > max_length:
        return ErrorCode.TEXT_TOO_LONG, {"limit": max_length}
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return ErrorCode.INVALID_TEXT, {}
    return None


def decimal_problem(value: Any) -> Fault | None:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None  # not a number at all: the scalar itself refuses it
    if not number.is_finite() or abs(number) >= _MAX_NUMBER or number.as_tuple().exponent < -4:  # type: ignore[operator]
        return ErrorCode.INVALID_DECIMAL, {}
    return None


def _calendar_problem(value: Any, parse: Any) -> Fault | None:
    try:
        day = parse(str(value))
    except ValueError:
        return None  # the scalar refuses it with its own message
    if day.year not in CALENDAR:
        return ErrorCode.INVALID_DATE, {"year": day.year, "from": CALENDAR.start, "until": CALENDAR.stop - 1}
    return None


def _scalar_problem(scalar: str, name: str, value: Any, max_text: int) -> Fault | None:
    """The code (and its values) for a bad scalar value, by its type name and the argument's name."""
    if isinstance(value, str) and scalar in ("String", "ID") and (found := text_problem(value, max_text)):
        return found
    if scalar == "Decimal" and (found := decimal_problem(value)):
        return found
    if scalar == "Date" and (found := _calendar_problem(value, date.fromisoformat)):
        return found
    if scalar == "DateTime" and (found := _calendar_problem(value, datetime.fromisoformat)):
        return found
    if scalar == "Int" and name == "year" and isinstance(value, int) and value not in YEARS:
        return ErrorCode.INVALID_YEAR, {"year": value, "from": YEARS.start, "until": YEARS.stop - 1}
    return None


class _Checker:
    def __init__(self, schema: GraphQLSchema, document: DocumentNode, variables: dict[str, Any], max_text: int) -> None:
        self.schema = schema
        self.variables = variables
        self.max_text = max_text
        self.fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        self.problems = EdgeProblems()

    def operation(self, operation: OperationDefinitionNode) -> EdgeProblems:
        root_type = self.schema.get_root_type(operation.operation)
        for selection in self._fields(operation.selection_set, root_type, set()):
            node, parent = selection
            root = node.alias.value if node.alias else node.name.value
            self.field(root, node, parent, set())
        return self.problems

    def _fields(
        self, node: SelectionSetNode, parent: GraphQLNamedType | None, seen: set[str]
    ) -> Iterator[tuple[FieldNode, GraphQLNamedType | None]]:
        """The fields of a selection set, through inline fragments and spreads (each
        fragment once per root field: its arguments are the same wherever it is spread)."""
        for selection in node.selections:
            if isinstance(selection, FieldNode):
                yield selection, parent
            elif isinstance(selection, InlineFragmentNode):
                yield from self._fields(selection.selection_set, self._condition(selection, parent), seen)
            elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in seen:
                seen.add(selection.name.value)
                fragment = self.fragments.get(selection.name.value)
                if fragment is not None:
                    yield from self._fields(fragment.selection_set, self._condition(fragment, parent), seen)

    def _condition(self, node: InlineFragmentNode | FragmentDefinitionNode, parent: GraphQLNamedType | None) -> GraphQLNamedType | None:
        return self.schema.get_type(node.type_condition.name.value) if node.type_condition else parent

    def field(self, root: str, node: FieldNode, parent: GraphQLNamedType | None, seen: set[str]) -> None:
        definition = parent.fields.get(node.name.value) if isinstance(parent, (GraphQLObjectType, GraphQLInterfaceType)) else None
        if definition is None:
            return  # introspection, or unknown: validation has spoken
        for argument in node.arguments or ():
            declared = definition.args.get(argument.name.value)
            if declared is not None:
                value = self._value(argument.value)
                self.check(root, [argument.name.value], argument.name.value, declared.type, value)
        if node.selection_set is not None:
            child = get_named_type(definition.type)
            for inner, inner_parent in self._fields(node.selection_set, child, seen):
                self.field(root, inner, inner_parent, seen)

    def _value(self, node: Any) -> Any:
        if isinstance(node, VariableNode):
            return self.variables.get(node.name.value)
        return value_from_ast_untyped(node, self.variables)

    def check(self, root: str, path: list[str], name: str, type_: GraphQLInputType, value: Any) -> None:
        if value is None:
            return
        nullable = get_nullable_type(type_)
        if isinstance(nullable, GraphQLList):
            if isinstance(value, list):
                for index, item in enumerate(value):
                    self.check(root, [*path, str(index)], name, nullable.of_type, item)
            else:
                self.check(root, path, name, nullable.of_type, value)  # a single value for a list
        elif isinstance(nullable, GraphQLInputObjectType):
            if isinstance(value, dict):
                for key, field_def in nullable.fields.items():
                    if key in value:
                        self.check(root, [*path, key], key, field_def.type, value[key])
        elif isinstance(nullable, GraphQLScalarType):
            found = _scalar_problem(nullable.name, name, value, self.max_text)
            if found is not None:
                code, params = found
                self.problems.add(root, Problem(code, path, {"field": ".".join(path), **params}))


def find_operation(document: DocumentNode, name: str | None) -> OperationDefinitionNode | None:
    found = [o for o in operations(document) if name is None or (o.name is not None and o.name.value == name)]
    return found[0] if len(found) == 1 else None


def check_operation(
    schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode, variables: dict[str, Any] | None,
    max_text: int = MAX_TEXT,
) -> EdgeProblems:
    return _Checker(schema, document, variables or {}, max_text).operation(operation)


def mutation_field_path(path: list[str]) -> list[str]:
    """userErrors name fields inside `input`, as the domain's own problems do."""
    return path[1:] if path[:1] == ["input"] and len(path) > 1 else path


class EdgeValidation(SchemaExtension):
    """Runs the checks before execution: a query with a bad value fails whole; a
    mutation's problems wait in the context for `run_mutation`."""

    def __init__(self, *, max_text: int = MAX_TEXT) -> None:
        self.max_text = max_text

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        operation = find_operation(document, context.operation_name) if document is not None else None
        if operation is not None:
            found = check_operation(context.schema._schema, document, operation, context.variables, self.max_text)
            if operation.operation is OperationType.MUTATION:
                context.context.edge_problems = found
            elif found.by_root:
                context.result = ExecutionResult(data=None, errors=[_error(p) for ps in found.by_root.values() for p in ps])
        yield


def _error(problem: Problem) -> GraphQLError:
    return public_graphql_error(problem)
