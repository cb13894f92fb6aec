"""How a document is executed: graphql-core's executor, with plain leaf fields read
straight off their object.

A 50-person page or 18 ranked units are mostly leaf fields (`target`, `enrolled`, a
name) that Strawberry resolves by reading an attribute. graphql-core still builds a
resolve info, looks for arguments, asks whether the value is awaitable and walks the
completion rules for each of them: most of the time a response of such rows takes.
`LeanExecutor` reads and serialises those fields at once, and hands everything else
(resolvers, objects, lists, nulls, errors) to the executor unchanged: a leaf whose
value cannot be serialised is executed again the full way, which raises the error
where it belongs.
"""
from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter
from typing import Any, NamedTuple

from graphql import GraphQLLeafType, GraphQLObjectType, GraphQLSchema, Undefined, is_leaf_type, is_non_null_type
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter

# The name of the resolver Strawberry gives a field that is a plain attribute (no
# resolver, permission or extension): it reads the attribute (`getattr`, unless the
# config names another default resolver) and ignores the info.
_ATTRIBUTE_RESOLVER = "_get_basic_result"


class PlainLeaf(NamedTuple):
    read: Callable[[Any], Any]  # source -> value
    leaf: GraphQLLeafType
    non_null: bool


# Each (object type, field name): its PlainLeaf, or None when it takes the full way. A
# process builds its schema once (the tests a few): the types stay for its life anyway.
_PLAIN: dict[tuple[GraphQLObjectType, str], PlainLeaf | None] = {}


def plain_leaf(schema: GraphQLSchema, parent_type: GraphQLObjectType, name: str) -> PlainLeaf | None:
    key = (parent_type, name)
    try:
        return _PLAIN[key]
    except KeyError:
        plain = _PLAIN[key] = _classify(schema, parent_type, name)
        return plain


def _classify(schema: GraphQLSchema, parent_type: GraphQLObjectType, name: str) -> PlainLeaf | None:
    field = schema.get_field(parent_type, name)
    if field is None or field.args or getattr(field.resolve, "__name__", None) != _ATTRIBUTE_RESOLVER:
        return None
    non_null = is_non_null_type(field.type)
    leaf = field.type.of_type if non_null else field.type  # type: ignore[union-attr]
    if not is_leaf_type(leaf):
        return None
    definition = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if definition is None or definition.default_resolver is not getattr:
        return None
    return PlainLeaf(attrgetter(definition.python_name), leaf, non_null)


class LeanExecutor(StrawberryGraphQLCoreExecutionContext):
    def execute_field(self, parent_type, source, field_details_list, path, position_context):  # type: ignore[no-untyped-def]  # noqa: ANN001, ANN201
        middleware = self.middleware_manager
        if middleware is None or not middleware.middlewares:  # field hooks (tracing) see every field
            plain = plain_leaf(self.schema, parent_type, field_details_list[0].node.name.value)
            if plain is not None:
                value = _serialised(plain, source)
                if value is not Undefined:
                    return value
        return super().execute_field(parent_type, source, field_details_list, path, position_context)


def _serialised(plain: PlainLeaf, source: Any) -> Any:
    """The field's value as the response holds it; Undefined: take the full way."""
    try:
        value = plain.read(source)
        if value is None:
            return Undefined if plain.non_null else None
        coerced = plain.leaf.coerce_output_value(value)
    except Exception:  # noqa: BLE001 (the full way raises it again, located)
        return Undefined
    return Undefined if coerced is None else coerced
