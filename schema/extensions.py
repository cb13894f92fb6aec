"""Request-wide behaviour: the tenant transaction, error masking, logging and what the metrics see."""
from __future__ import annotations

import logging
import re
from collections.abc import Iterator

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    SelectionSetNode,
    get_operation_ast,
)
from strawberry.extensions import MaskErrors, SchemaExtension

from schema.errors import TIMED_OUT, PublicError, localized, public_graphql_error, timed_out
from tenants.observe import INVALID_OPERATION, NO_OPERATION, SEVERAL_OPERATIONS, current_request
from tenants.problems import ErrorCode, Problem
from tenants.session import request_db

log = logging.getLogger("zhengjiao.graphql")


def _unexpected(error: GraphQLError) -> bool:
    original = error.original_error
    return original is not None and not isinstance(original, PublicError)


class RequestTransaction(SchemaExtension):
    """One transaction per request on the serving role, bound to the caller's tenant.
    Committed unless something unexpected went wrong; then nothing is kept."""

    async def on_operation(self):  # noqa: ANN201 (strawberry hook)
        context = self.execution_context.context
        services = context.services
        async with request_db(services.pool, services.engine) as db:
            context.db = db
            await context.authenticate()
            yield
            errors = getattr(self.execution_context.result, "errors", None) or []
            db.keep_changes = not any(_unexpected(e) for e in errors)


class PublicTimeouts(SchemaExtension):
    """A statement that ran past its timeout is a request too big, not a fault: the
    caller gets `TIMED_OUT` (the log still has the details, the transaction is undone)."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        errors = getattr(result, "errors", None)
        if errors:
            result.errors = [_public_timeout(e) if timed_out(e.original_error) else e for e in errors]


def _public_timeout(error: GraphQLError) -> GraphQLError:
    return public_graphql_error(TIMED_OUT, nodes=error.nodes, path=error.path)


_SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")


class HideSuggestions(SchemaExtension):
    """Production: no "Did you mean 'persons'?" in any error (validation is run with
    suggestions off; this catches the ones raised while coercing variables)."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        errors = getattr(result, "errors", None)
        if errors:
            result.errors = [_without_suggestion(e) for e in errors]


def _without_suggestion(error: GraphQLError) -> GraphQLError:
    message = _SUGGESTION.sub("", error.message)
    if message == error.message:
        return error
    return GraphQLError(
        message, nodes=error.nodes, path=error.path, original_error=error.original_error, extensions=error.extensions
    )


class LogErrors(SchemaExtension):
    """Unexpected errors go to the log with the request's correlation id (never the
    variables: they may hold ID numbers)."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        context = self.execution_context.context
        for error in getattr(result, "errors", None) or []:
            if _unexpected(error):
                log.error(
                    "unexpected error [%s] at %s",
                    context.correlation_id,
                    ".".join(map(str, error.path or [])),
                    exc_info=error.original_error,
                )


class MaskUnexpected(MaskErrors):
    """Production: unexpected errors become 'Unexpected error' plus the correlation id."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=_unexpected, error_message="Unexpected error.")

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        masked = super().anonymise_error(error)
        reference = self.execution_context.context.correlation_id
        internal = public_graphql_error(
            Problem(ErrorCode.INTERNAL, params={"reference": reference}),
            nodes=masked.nodes, source=masked.source, positions=masked.positions, path=masked.path,
        )
        internal.extensions = {**(internal.extensions or {}), "correlationId": reference}
        return internal


class LocalizeErrors(SchemaExtension):
    """Every public error worded in the request's language, last of all (listed first):
    the masker's INTERNAL included."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        errors = getattr(result, "errors", None)
        if errors:
            locale = self.execution_context.context.locale
            result.errors = [localized(e, locale) for e in errors]


class ObserveOperation(SchemaExtension):
    """Names the request for the metrics and the logs (tenants/observe.py): its root
    field, once the document is known valid (so the name is one of the schema's), and
    its outcome: ok, refused (userErrors), error (errors a client may see), unexpected."""

    def on_execute(self) -> Iterator[None]:
        record = current_request()
        if record is not None:
            context = self.execution_context
            operation = get_operation_ast(context.graphql_document, context.operation_name)
            if operation is not None:
                record.operation_type = operation.operation.value
                record.operation = _root_field(operation.selection_set, context.graphql_document)
        yield

    def on_operation(self) -> Iterator[None]:
        yield
        record = current_request()
        if record is None:
            return
        errors = getattr(self.execution_context.result, "errors", None) or []
        if record.operation == NO_OPERATION:
            record.operation = INVALID_OPERATION  # did not parse or validate
        if any(_unexpected(e) for e in errors):
            record.outcome = "unexpected"
        elif errors:
            record.outcome = "error"
        else:
            record.outcome = "refused" if record.user_error_codes else "ok"


def _root_field(selection_set: SelectionSetNode, document: DocumentNode) -> str:
    names = sorted(set(_field_names(selection_set, document)))
    return names[0] if len(names) == 1 else SEVERAL_OPERATIONS


def _field_names(selection_set: SelectionSetNode, document: DocumentNode) -> Iterator[str]:
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            yield selection.name.value
        elif isinstance(selection, InlineFragmentNode):
            yield from _field_names(selection.selection_set, document)
        elif isinstance(selection, FragmentSpreadNode):
            for definition in document.definitions:
                if isinstance(definition, FragmentDefinitionNode) and definition.name.value == selection.name.value:
                    yield from _field_names(definition.selection_set, document)
