"""Error shapes: `UserError` and `RowError` as data for mutations, `PublicError` for
queries. All three carry a typed `ErrorCode` and named params; the message is worded
from the catalogue in the request's language (`Context.locale`) when it is read.

Anything else raised in a resolver is unexpected: logged with a correlation id and,
in production, masked.
"""
from __future__ import annotations

from typing import Any

import strawberry
from graphql import GraphQLError
from psycopg.errors import QueryCanceled
from sqlalchemy.exc import DBAPIError
from strawberry.types import Info

from domain.files.uploads import ROW_ERROR_LIMIT, RowProblem
from tenants import metrics
from tenants.messages import raw_params, text
from tenants.observe import note_user_errors
from tenants.problems import ErrorCode, Params, Problem, Rejected


def _described(code: ErrorCode) -> str:
    return text(str(code), "en")


ErrorCodeEnum = strawberry.enum(
    ErrorCode,
    name="ErrorCode",
    description="Why a request or a row was refused: one code per situation across the API.",
)
for _value in ErrorCodeEnum.__strawberry_definition__.values:
    _value.description = _described(ErrorCode(_value.value))


@strawberry.type(description="A value the message names, as text (dates ISO, amounts in yuan).")
class ErrorParam:
    name: str
    value: str


def _params(params: Params) -> list[ErrorParam]:
    return [ErrorParam(name=name, value=value) for name, value in raw_params(params)]


@strawberry.type
class Worded:
    """`message` and `params` of a coded problem (user errors, row errors, warnings),
    worded when read, in the request's language."""

    problem: strawberry.Private[Problem | RowProblem]

    @strawberry.field(description="In the request's language (Accept-Language; zh-CN by default).")
    def message(self, info: Info) -> str:
        return text(self.problem.message_id, info.context.locale, self.problem.params)

    @strawberry.field
    def params(self) -> list[ErrorParam]:
        return _params(self.problem.params)


@strawberry.type
class UserError(Worded):
    field: list[str] | None
    code: ErrorCodeEnum  # type: ignore[valid-type]
    problem: strawberry.Private[Problem]

    @classmethod
    def of(cls, problem: Problem) -> UserError:
        return cls(field=problem.field or None, code=problem.code, problem=problem)


@strawberry.type
class RowError(Worded):
    row: int
    column: str | None
    code: ErrorCodeEnum  # type: ignore[valid-type]
    problem: strawberry.Private[RowProblem]

    @classmethod
    def of(cls, problem: RowProblem) -> RowError:
        return cls(row=problem.row, column=problem.column, code=problem.code, problem=problem)


def user_errors(problems: list[Problem], operation: str | None = None) -> list[UserError]:
    """`operation`: the mutation refusing, counted in the metrics (zhengjiao_user_errors_total)."""
    if operation is not None and problems:
        codes = [str(p.code) for p in problems]
        note_user_errors(codes)
        metrics.user_errors(operation, codes)
    return [UserError.of(p) for p in problems]


def row_errors(problems: list[RowProblem]) -> list[RowError]:
    """The first ROW_ERROR_LIMIT; the row report holds them all."""
    return [RowError.of(p) for p in problems[:ROW_ERROR_LIMIT]]


class PublicError(Exception):
    """An expected query failure whose message is safe to show, in production too;
    worded in the caller's language by `schema.extensions.LocalizeErrors`."""

    def __init__(self, code: ErrorCode, params: Params | None = None, *, variant: str | None = None) -> None:
        self.problem = Problem(code, [], params or {}, variant)
        super().__init__(text(self.problem.message_id, "en", self.problem.params))
        self.extensions: dict[str, Any] = {"code": str(code)}

    @classmethod
    def of(cls, problem: Problem) -> PublicError:
        return cls(problem.code, problem.params, variant=problem.variant)


def public_graphql_error(problem: Problem, **where: Any) -> GraphQLError:
    """A GraphQL error for a problem found outside a resolver (document limits, argument
    values): public, and worded like any other."""
    public = PublicError.of(problem)
    extensions = {**public.extensions, **({"field": problem.field} if problem.field else {})}
    return GraphQLError(str(public), original_error=public, extensions=extensions, **where)


def localized(error: GraphQLError, locale: str) -> GraphQLError:
    """The error worded in `locale`, with its code and params in `extensions`."""
    public = error.original_error
    if not isinstance(public, PublicError):
        return error
    problem = public.problem
    error.message = text(problem.message_id, locale, problem.params)
    error.extensions = {**(error.extensions or {}), "code": str(problem.code)}
    if problem.params:
        error.extensions["params"] = dict(raw_params(problem.params))
    return error


FORBIDDEN = Problem(ErrorCode.FORBIDDEN)
UNAUTHENTICATED = Problem(ErrorCode.UNAUTHENTICATED)


# A statement ran past its timeout: the work is too big for one request, not a fault.
TIMED_OUT = Problem(ErrorCode.TIMED_OUT)


def timed_out(error: BaseException | None) -> bool:
    return isinstance(error, DBAPIError) and isinstance(error.orig, QueryCanceled)


def forbidden() -> Rejected:
    return Rejected([FORBIDDEN])
