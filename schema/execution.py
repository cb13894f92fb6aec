"""How a document is executed: graphql-core's executor, with plain fields read straight
off their object.

A 50-person page or 18 ranked units are mostly fields (`target`, `enrolled`, a name, a
quota line's `unit`) that Strawberry resolves by reading an attribute. graphql-core still
builds a resolve info, looks for arguments, asks whether the value is awaitable and
walks the completion rules for each of them: most of the time a response of such rows
takes. `LeanExecutor` reads and serialises a plain leaf at once, and executes the fields
of an object held in a plain attribute at once; everything else (resolvers, lists,
interfaces, nulls, errors) takes the executor's way unchanged. A plain field whose value
cannot be taken the short way (it will not serialise, it is null, it is not of its type)
is executed again the full way, which raises the error where it belongs.
"""
from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter
from typing import Any, NamedTuple

from graphql import (
    GraphQLLeafType,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    Undefined,
    is_leaf_type,
    is_non_null_type,
    is_object_type,
)
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter

# The name of the resolver Strawberry gives a field that is a plain attribute (no
# resolver, permission or extension): it reads the attribute (`getattr`, unless the
# config names another default resolver) and ignores the info.
_ATTRIBUTE_RESOLVER = "_get_basic_result"


class Plain(NamedTuple):
    """A field that is an attribute of its object: a leaf (read and serialised) or an
    object whose own fields are executed on the attribute's value."""

    read: Callable[[Any], Any]  # source -> value
    type: GraphQLOutputType  # as declared (non-null or not)
    named: GraphQLLeafType | GraphQLObjectType
    non_null: bool
    is_object: bool


# Each (object type, field name): its Plain, or None when it takes the full way. A
# process builds its schema once (the tests a few): the types stay for its life anyway.
_PLAIN: dict[tuple[GraphQLObjectType, str], Plain | None] = {}


def plain_field(schema: GraphQLSchema, parent_type: GraphQLObjectType, name: str) -> Plain | None:
    key = (parent_type, name)
    try:
        return _PLAIN[key]
    except KeyError:
        plain = _PLAIN[key] = _classify(schema, parent_type, name)
        return plain


def _classify(schema: GraphQLSchema, parent_type: GraphQLObjectType, name: str) -> Plain | None:
    field = schema.get_field(parent_type, name)
    if field is None or field.args or getattr(field.resolve, "__name__", None) != _ATTRIBUTE_RESOLVER:
        return None
    non_null = is_non_null_type(field.type)
    named = field.type.of_type if non_null else field.type  # type: ignore[union-attr]
    if not (is_leaf_type(named) or is_object_type(named)):
        return None  # lists, interfaces and unions: the full way
    definition = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if definition is None or definition.default_resolver is not getattr:
        return None
    return Plain(attrgetter(definition.python_name), field.type, named, non_null, is_object_type(named))


class LeanExecutor(StrawberryGraphQLCoreExecutionContext):
    """graphql-core's executor, plain fields the short way (the module's docstring)."""

    def execute_field(self, parent_type, source, field_details_list, path, position_context):  # type: ignore[no-untyped-def]  # noqa: ANN001, ANN201
        plain = self._plain(parent_type, field_details_list[0].node.name.value)
        if plain is not None and plain.is_object:
            value = _object(plain, source)
            if value is not Undefined:
                return self._execute_object(plain, field_details_list, path, value, position_context)
        elif plain is not None:
            value = _serialised(plain, source)
            if value is not Undefined:
                return value
        return super().execute_field(parent_type, source, field_details_list, path, position_context)

    def _plain(self, parent_type: GraphQLObjectType, name: str) -> Plain | None:
        """None while field hooks (tracing's middleware) must see every field."""
        middleware = self.middleware_manager
        if middleware is not None and middleware.middlewares:
            return None
        return plain_field(self.schema, parent_type, name)

    def _execute_object(self, plain: Plain, field_details_list: Any, path: Any, value: Any, position_context: Any) -> Any:
        """The object's own fields, with errors handled where graphql-core handles them."""
        try:
            completed = self.collect_and_execute_subfields(
                plain.named, field_details_list, path, value, position_context  # type: ignore[arg-type]
            )
        except Exception as raw_error:  # noqa: BLE001
            self.handle_field_error(raw_error, plain.type, field_details_list, path)
            return None
        if self.is_awaitable(completed):
            return self._completed_later(plain, field_details_list, path, completed)
        return completed

    async def _completed_later(self, plain: Plain, field_details_list: Any, path: Any, completed: Any) -> Any:
        try:
            return await completed
        except Exception as raw_error:  # noqa: BLE001
            self.handle_field_error(raw_error, plain.type, field_details_list, path)
            return None


def _serialised(plain: Plain, source: Any) -> Any:
    """A leaf's value as the response holds it; Undefined: take the full way."""
    try:
        value = plain.read(source)
        if value is None:
            return Undefined if plain.non_null else None
        coerced = plain.named.coerce_output_value(value)  # type: ignore[union-attr]
    except Exception:  # noqa: BLE001 (the full way raises it again, located)
        return Undefined
    return Undefined if coerced is None else coerced


def _object(plain: Plain, source: Any) -> Any:
    """An object field's value when it is one of its type; Undefined: take the full way
    (null, an awaitable, another type, an error)."""
    try:
        value = plain.read(source)
        is_type_of = plain.named.is_type_of  # type: ignore[union-attr]
        if value is None or (is_type_of is not None and is_type_of(value, None) is not True):
            return Undefined
    except Exception:  # noqa: BLE001
        return Undefined
    return value
