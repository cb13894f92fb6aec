"""Keyset pages of a list, read in one place: a page of rows, whether more follow, how many.

Lists that show the newest first (payments, refunds, remittances, imports, list
versions) page on their id: the next page is the rows with a smaller id than the last
one shown, so a row added meanwhile never shifts a page, and no page costs an OFFSET.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import text

from tenants.session import Db

RowT = TypeVar("RowT")


# A count that costs a scan (a filter no counter answers) is a function, run only when
# the caller asks for `totalCount`.
Total = int | Callable[[], Awaitable[int]]


@dataclass(frozen=True)
class Page(Generic[RowT]):
    rows: list[RowT]
    has_next: bool
    total: Total


async def newest_first(
    db: Db, *, columns: str, source: str, where: str, params: Mapping[str, Any], id_column: str,
    first: int, before_id: int | None, row: Callable[[Any], RowT],
) -> Page[RowT]:
    """`first` rows of `source` meeting `where`, newest first, below `before_id` if given."""
    page_where = where + (f" AND {id_column} < :before_id" if before_id is not None else "")
    found = (
        await db.execute(
            text(f"SELECT {columns} FROM {source} WHERE {page_where} ORDER BY {id_column} DESC LIMIT :page_limit"),
            {**params, "before_id": before_id, "page_limit": first + 1},
        )
    ).all()
    total = await db.scalar(text(f"SELECT count(*) FROM {source} WHERE {where}"), params)
    return Page([row(r) for r in found[:first]], len(found) > first, total)
