"""Request-wide behaviour: the tenant transaction, error masking and logging."""
from __future__ import annotations

import logging
from typing import Iterator

from graphql import GraphQLError
from strawberry.extensions import MaskErrors, SchemaExtension

from schema.errors import PublicError
from tenants.session import Db

log = logging.getLogger("zhengjiao.graphql")


def _unexpected(error: GraphQLError) -> bool:
    original = error.original_error
    return original is not None and not isinstance(original, PublicError)


class RequestTransaction(SchemaExtension):
    """One transaction per request on the serving role, bound to the caller's tenant.
    Committed unless something unexpected went wrong; then nothing is kept."""

    async def on_operation(self):  # noqa: ANN201 (strawberry hook)
        context = self.execution_context.context
        async with context.services.engine.connect() as conn:
            transaction = await conn.begin()
            context.db = Db(conn)
            try:
                await context.authenticate()
                yield
            except BaseException:
                await transaction.rollback()
                raise
            result = self.execution_context.result
            errors = getattr(result, "errors", None) or []
            if any(_unexpected(e) for e in errors):
                await transaction.rollback()
            else:
                await transaction.commit()


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
        return GraphQLError(
            message=f"Unexpected error (reference {reference}).",
            nodes=masked.nodes,
            source=masked.source,
            positions=masked.positions,
            path=masked.path,
            extensions={"code": "INTERNAL", "correlationId": reference},
        )
