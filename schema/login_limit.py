"""One `login` per request: a validation rule, so a document asking for more is
refused before anything runs and no guess is made or counted.

Aliases (`a: login … b: login …`) would otherwise turn one request into many password
guesses. The rule counts the distinct response names that select `login` at the root
of each mutation: in its selection set, in inline fragments there, and in fragments
spread there. Field sub-selections are never entered, and each fragment is read at
most once, so the work is bounded by the document's size whatever its fragments do.
Two selections of `login` under one response name merge into one execution (and must
have equal arguments to validate), so they count once.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    ValidationRule,
)

from schema.errors import public_graphql_error
from tenants.problems import ErrorCode, Problem

LOGIN_FIELD = "login"


def root_fields(operation: OperationDefinitionNode, fragments: dict[str, FragmentDefinitionNode]) -> Iterator[FieldNode]:
    """The fields the operation selects at its root: in its selection set, in inline
    fragments there and in fragments spread there, each fragment read once."""
    visited: set[str] = set()
    pending: list[SelectionSetNode] = [operation.selection_set]
    while pending:
        for selection in pending.pop().selections:
            if isinstance(selection, FieldNode):
                yield selection
            elif isinstance(selection, InlineFragmentNode):
                pending.append(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = fragments.get(name)
                if fragment is not None and name not in visited:
                    visited.add(name)
                    pending.append(fragment.selection_set)


def login_response_names(operation: OperationDefinitionNode, fragments: dict[str, FragmentDefinitionNode]) -> set[str]:
    """Response names under which the operation's root selects `login`."""
    return {(f.alias or f.name).value for f in root_fields(operation, fragments) if f.name.value == LOGIN_FIELD}


class OneLoginPerRequest(ValidationRule):
    def enter_operation_definition(self, node: OperationDefinitionNode, *_args: Any) -> None:
        if node.operation is not OperationType.MUTATION:
            return
        fragments = {
            d.name.value: d for d in self.context.document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        if len(login_response_names(node, fragments)) > 1:
            self.report_error(public_graphql_error(Problem(ErrorCode.TOO_MANY_LOGINS), nodes=[node]))
