"""Relay plumbing: opaque global IDs, keyset cursors, page sizes, one generic Connection.

Every list is a `Connection[T]` (GraphQL: `TConnection` with `TEdge`), paged forward with
keyset cursors (`first`, `after`): a cursor is the sort key of its row, so a page never
skips or repeats a row when rows are added meanwhile, and no page costs an OFFSET.
"""
from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import strawberry
from strawberry.types import Info
from strawberry.types.nodes import SelectedField, Selection

from schema.errors import PublicError
from tenants.pages import Page, Total
from tenants.problems import ErrorCode


@strawberry.interface
class Node:
    id: strawberry.ID


@strawberry.type(description="Where a page lies in its list (Relay). Pages go forward: `first` and `after`.")
class PageInfo:
    has_next_page: bool
    has_previous_page: bool = strawberry.field(description="True when the page was asked for `after` a cursor.")
    start_cursor: str | None
    end_cursor: str | None


NodeT = TypeVar("NodeT")
RowT = TypeVar("RowT")


@strawberry.type
class Edge(Generic[NodeT]):
    node: NodeT
    key: strawberry.Private[list[Any]]  # the row's sort key: its cursor, encoded when asked for

    @strawberry.field
    def cursor(self) -> str:
        return encode_cursor(self.key)


@strawberry.type
class Connection(Generic[NodeT]):
    edges: list[Edge[NodeT]]
    page_info: PageInfo
    total: strawberry.Private[Total]

    @strawberry.field(description="How many rows the whole list has (every page alike).")
    async def total_count(self) -> int:
        return self.total if isinstance(self.total, int) else await self.total()


def connection(
    page: Page[RowT], *, after: str | None, node: Callable[[RowT], NodeT], cursor: Callable[[RowT], list[Any]],
) -> Connection[NodeT]:
    """A page of rows as a Connection: `cursor` gives a row's sort key, `node` its type."""
    edges = [Edge(node=node(row), key=cursor(row)) for row in page.rows]
    page_info = PageInfo(
        has_next_page=page.has_next,
        has_previous_page=bool(after),
        start_cursor=edges[0].cursor() if edges else None,
        end_cursor=edges[-1].cursor() if edges else None,
    )
    return Connection(edges=edges, page_info=page_info, total=page.total)


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _unb64(text: str) -> str:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()


BIGINT_MAX = 2**63 - 1
_TYPE_NAME = re.compile(r"^[A-Z][A-Za-z]{0,63}$")
_MAX_CURSOR = 512


def to_global_id(type_name: str, pk: int) -> strawberry.ID:
    return strawberry.ID(_b64(f"{type_name}:{pk}"))


def _decode_global_id(global_id: str) -> tuple[str, int] | None:
    """(type name, primary key) of an ID this API issued, or None."""
    try:
        type_name, _, pk = _unb64(str(global_id)).partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    if not _TYPE_NAME.match(type_name) or not pk.isascii() or not pk.isdigit() or not 0 < int(pk) <= BIGINT_MAX:
        return None
    return type_name, int(pk)


def from_global_id(global_id: str, expected: str | None = None) -> tuple[str, int]:
    decoded = _decode_global_id(global_id)
    if decoded is None:
        raise PublicError(ErrorCode.INVALID_ID, {"globalId": global_id})
    if expected is not None and decoded[0] != expected:
        raise PublicError(ErrorCode.INVALID_ID, {"globalId": global_id, "expected": expected}, variant="TYPE")
    return decoded


def parse_global_id(global_id: str, expected: str) -> int | None:
    """For mutation inputs: None instead of an exception, so it becomes a user error."""
    try:
        return from_global_id(global_id, expected)[1]
    except PublicError:
        return None


def encode_cursor(values: list[Any]) -> str:
    return _b64(json.dumps(values, separators=(",", ":")))


def _cursor_values(cursor: str) -> list[Any] | None:
    """A cursor is `[key, …, id]`: short strings, then an id in bigint range."""
    if len(cursor) > _MAX_CURSOR:
        return None
    try:
        values = json.loads(_unb64(cursor))
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    if not isinstance(values, list) or not values:
        return None
    *keys, last = values
    if not all(isinstance(k, str) and len(k) <= 256 and k.isprintable() for k in keys):
        return None
    if type(last) is not int or not 0 < last <= BIGINT_MAX:
        return None
    return values


def decode_cursor(cursor: str | None, arity: int) -> list[Any] | None:
    if not cursor:
        return None
    values = _cursor_values(cursor)
    if values is None or len(values) != arity:
        raise PublicError(ErrorCode.INVALID_CURSOR)
    return values


def page_size(first: int | None, default: int, maximum: int) -> int:
    if first is None:
        return default
    if first < 1:
        raise PublicError(ErrorCode.INVALID_PAGE_SIZE)
    return min(first, maximum)


def asks_for(info: Info, *path: str) -> bool:
    """Does the operation ask, below the field being resolved, for `path` (say "edges",
    "node", "unit")? Lets a list read what its rows will be asked for with the rows."""
    return any(_asks(field.selections, path) for field in info.selected_fields)


def _asks(selections: list[Selection], path: tuple[str, ...]) -> bool:
    if not path:
        return True
    for selection in selections:
        if isinstance(selection, SelectedField):
            if selection.name == path[0] and _asks(selection.selections, path[1:]):
                return True
        elif _asks(selection.selections, path):  # a fragment: its fields are this level's
            return True
    return False
