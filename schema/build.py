"""Assemble the Strawberry schema with the hardening limits from settings."""
from __future__ import annotations

from functools import partial

import strawberry
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaxTokensLimiter,
    ParserCache,
)
from strawberry.schema.config import StrawberryConfig

from schema.edge import MAX_TEXT, EdgeValidation
from schema.execution import LeanExecutor
from schema.extensions import (
    HideSuggestions,
    LocalizeErrors,
    LogErrors,
    MaskUnexpected,
    ObserveOperation,
    PublicTimeouts,
    RequestTransaction,
)
from schema.limits import DocumentLimits, Limits
from schema.login_gate import LoginGate
from schema.login_limit import OneLoginPerRequest
from schema.password_gate import PasswordChangeGate
from schema.redaction import MaskWholeIdNumbers
from schema.root import TYPES, Mutation, Query

PARSED_DOCUMENTS = 512


class QuietSchema(strawberry.Schema):
    """Strawberry logs every error with its traceback; ours are logged by LogErrors,
    with a correlation id and without the request's variables."""

    def process_errors(self, errors, execution_context=None) -> None:  # noqa: ANN001
        return None


def build_schema(
    *, production: bool = False, limits: Limits | None = None, max_tokens: int = 5000, max_text: int = MAX_TEXT,
    tracing: bool = False,
) -> strawberry.Schema:
    # Factories, not instances: Strawberry makes fresh extensions for every request.
    # Hooks unwind in reverse order, so the masker (listed first) runs last: the
    # transaction and the error log still see the original errors.
    extensions: list = [LocalizeErrors]
    extensions += [HideSuggestions, MaskUnexpected] if production else []
    extensions += [
        partial(MaxTokensLimiter, max_token_count=max_tokens),
        # Parsed documents, shared by every request of the process (an LRU keyed by the
        # text and the token limit; a text over the limit fails to parse and is not kept).
        # Validation is cached inside DocumentLimits, after the limits are measured.
        partial(ParserCache, maxsize=PARSED_DOCUMENTS),
        partial(DocumentLimits, limits=limits or Limits(), hide_suggestions=production),
        partial(EdgeValidation, max_text=max_text),
        PublicTimeouts,
        partial(AddValidationRules, [OneLoginPerRequest]),
        LoginGate,
        RequestTransaction,
        PasswordChangeGate,
        LogErrors,
        ObserveOperation,
        MaskWholeIdNumbers,
    ]
    if production:
        extensions.append(DisableIntrospection)
    if tracing:
        from api.tracing import GraphQLTracing

        extensions.append(GraphQLTracing)
    return QuietSchema(
        query=Query, mutation=Mutation, types=TYPES, extensions=extensions, config=StrawberryConfig(auto_camel_case=True),
        execution_context_class=LeanExecutor,
    )
