"""Relay plumbing: opaque global IDs, keyset cursors, page sizes."""
from __future__ import annotations

import base64
import json
from typing import Any

import strawberry

from schema.errors import PublicError


@strawberry.interface
class Node:
    id: strawberry.ID


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _unb64(text: str) -> str:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()


def to_global_id(type_name: str, pk: int) -> strawberry.ID:
    return strawberry.ID(_b64(f"{type_name}:{pk}"))


def from_global_id(global_id: str, expected: str | None = None) -> tuple[str, int]:
    try:
        type_name, _, pk = _unb64(str(global_id)).partition(":")
        value = int(pk)
    except (ValueError, UnicodeDecodeError):
        raise PublicError("INVALID_ID", f"{global_id!r} is not a valid ID") from None
    if expected is not None and type_name != expected:
        raise PublicError("INVALID_ID", f"{global_id!r} is not a {expected} ID")
    return type_name, value


def parse_global_id(global_id: str, expected: str) -> int | None:
    """For mutation inputs: None instead of an exception, so it becomes a user error."""
    try:
        return from_global_id(global_id, expected)[1]
    except PublicError:
        return None


def encode_cursor(values: list[Any]) -> str:
    return _b64(json.dumps(values, separators=(",", ":")))


def decode_cursor(cursor: str | None, arity: int) -> list[Any] | None:
    if not cursor:
        return None
    try:
        values = json.loads(_unb64(cursor))
    except (ValueError, UnicodeDecodeError):
        raise PublicError("INVALID_CURSOR", "after: not a cursor from this list") from None
    if not isinstance(values, list) or len(values) != arity:
        raise PublicError("INVALID_CURSOR", "after: not a cursor from this list")
    return values


def page_size(first: int | None, default: int, maximum: int) -> int:
    if first is None:
        return default
    if first < 1:
        raise PublicError("INVALID_PAGE_SIZE", "first must be at least 1")
    return min(first, maximum)
