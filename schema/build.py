"""Assemble the Strawberry schema with the hardening limits from settings."""
from __future__ import annotations

from functools import partial

import strawberry
from strawberry.extensions import AddValidationRules
from strawberry.extensions import DisableIntrospection, MaxAliasesLimiter, MaxTokensLimiter, QueryDepthLimiter
from strawberry.schema.config import StrawberryConfig

from schema.extensions import LogErrors, MaskUnexpected, RequestTransaction
from schema.login_gate import LoginGate
from schema.login_limit import OneLoginPerRequest
from schema.root import TYPES, Mutation, Query


class QuietSchema(strawberry.Schema):
    """Strawberry logs every error with its traceback; ours are logged by LogErrors,
    with a correlation id and without the request's variables."""

    def process_errors(self, errors, execution_context=None) -> None:  # noqa: ANN001
        return None


def build_schema(
    *, production: bool = False, max_depth: int = 10, max_aliases: int = 30, max_tokens: int = 5000
) -> strawberry.Schema:
    # Factories, not instances: Strawberry makes fresh extensions for every request.
    # Hooks unwind in reverse order, so the masker (listed first) runs last: the
    # transaction and the error log still see the original errors.
    extensions: list = [MaskUnexpected] if production else []
    extensions += [
        partial(MaxTokensLimiter, max_token_count=max_tokens),
        partial(QueryDepthLimiter, max_depth=max_depth),
        partial(MaxAliasesLimiter, max_alias_count=max_aliases),
        partial(AddValidationRules, [OneLoginPerRequest]),
        LoginGate,
        RequestTransaction,
        LogErrors,
    ]
    if production:
        extensions.append(DisableIntrospection)
    return QuietSchema(
        query=Query, mutation=Mutation, types=TYPES, extensions=extensions, config=StrawberryConfig(auto_camel_case=True)
    )
