"""A user whose password an administrator reset may do one thing: set their own.

Until then their token answers `viewer` and `changePassword` only (and `login`, which
any caller may run). Any other operation is refused whole, before it runs, with
MUST_CHANGE_PASSWORD. The test reads the operation's root fields: in its selection
set, in inline fragments there and in fragments spread there (each fragment once).
`Context.caller` and `Context.mutation_caller` refuse such a caller too unless this
gate found the operation harmless, so a door that bypasses GraphQL (downloads) is shut
as well.
"""
from __future__ import annotations

from collections.abc import Iterator

from graphql import (
    ExecutionResult,
    FragmentDefinitionNode,
    OperationDefinitionNode,
)
from graphql.utilities import get_operation_ast
from strawberry.extensions import SchemaExtension

from schema.errors import public_graphql_error
from schema.login_limit import root_fields
from tenants.problems import ErrorCode, Problem

ALLOWED_ROOT_FIELDS = frozenset({"viewer", "changePassword", "login", "__typename"})


def root_field_names(operation: OperationDefinitionNode, fragments: dict[str, FragmentDefinitionNode]) -> set[str]:
    """The field names the operation selects at its root."""
    return {f.name.value for f in root_fields(operation, fragments)}


def password_change_only(document: object, operation_name: str | None) -> bool:
    operation = get_operation_ast(document, operation_name) if document is not None else None
    if operation is None:
        return False
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    return root_field_names(operation, fragments) <= ALLOWED_ROOT_FIELDS


class PasswordChangeGate(SchemaExtension):
    """After authentication (`RequestTransaction`), before execution."""

    def on_execute(self) -> Iterator[None]:  # strawberry hook
        execution = self.execution_context
        context = execution.context
        context.password_change_only = password_change_only(execution.graphql_document, execution.operation_name)
        principal = context.principal
        if principal is not None and principal.must_change_password and not context.password_change_only:
            # A result set before execution is returned as it is: nothing runs.
            execution.result = ExecutionResult(
                data=None, errors=[public_graphql_error(Problem(ErrorCode.MUST_CHANGE_PASSWORD))]
            )
        yield
