"""Error shapes: `UserError` as data for mutations, `PublicError` for queries.

Anything else raised in a resolver is unexpected: logged with a correlation id and,
in production, masked.
"""
from __future__ import annotations

import strawberry
from psycopg.errors import QueryCanceled
from sqlalchemy.exc import DBAPIError

from tenants.problems import Problem, Rejected


@strawberry.type
class UserError:
    field: list[str] | None
    code: str
    message: str


@strawberry.type
class RowError:
    row: int
    column: str | None
    code: str
    message: str


def user_errors(problems: list[Problem]) -> list[UserError]:
    return [UserError(field=p.field or None, code=p.code, message=p.message) for p in problems]


class PublicError(Exception):
    """An expected query failure whose message is safe to show, in production too."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.extensions = {"code": code}


FORBIDDEN = Problem("FORBIDDEN", "your role or scope does not allow this")
UNAUTHENTICATED = Problem("UNAUTHENTICATED", "log in first: send 'Authorization: Bearer <token>'")


# A statement ran past its timeout: the work is too big for one request, not a fault.
TIMED_OUT = Problem("TIMED_OUT", "this took longer than the server allows; split the work (a smaller file, one township) and try again")


def timed_out(error: BaseException) -> bool:
    return isinstance(error, DBAPIError) and isinstance(error.orig, QueryCanceled)


def forbidden() -> Rejected:
    return Rejected([FORBIDDEN])
