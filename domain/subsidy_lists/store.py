"""Reading subsidy list history: batches, and one person's path across versions."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import text

from tenants.pages import Page, newest_first
from tenants.session import Db


@dataclass(frozen=True)
class BatchRow:
    id: int
    year: int
    category: str
    version: int
    file_name: str
    checksum: str
    uploaded_by: str
    uploaded_at: datetime
    rows_total: int
    rows_accepted: int
    rows_rejected: int
    added: int
    removed: int
    pending: int


_BATCH_COLUMNS = """id, year, category_code AS category, version, file_name, checksum, uploaded_by, uploaded_at,
                    rows_total, rows_accepted, rows_rejected, added, removed, pending"""


async def list_batches(
    db: Db, tenant_id: int, year: int, categories: list[str] | None, first: int, after: int | None
) -> Page[BatchRow]:
    """Newest first (keyset on id). `categories` None: every category."""
    where = "tenant_id = :t AND year = :y" + (" AND category_code = ANY(CAST(:cats AS text[]))" if categories is not None else "")
    return await newest_first(
        db, columns=_BATCH_COLUMNS, source="subsidy_batch", where=where, params={"t": tenant_id, "y": year, "cats": categories},
        id_column="id", first=first, before_id=after, row=lambda r: BatchRow(*r),
    )


async def batch_by_id(db: Db, tenant_id: int, batch_id: int) -> BatchRow | None:
    row = (
        await db.execute(
            text(f"SELECT {_BATCH_COLUMNS} FROM subsidy_batch WHERE tenant_id = :t AND id = :id"), {"t": tenant_id, "id": batch_id}
        )
    ).first()
    return BatchRow(*row) if row else None


@dataclass(frozen=True)
class HistoryRow:
    year: int
    category: str
    version: int
    change: str  # ADDED, KEPT, REMOVED
    uploaded_at: datetime
    recognized_on: date | None


# A version writes entries only for what changed (domain/subsidy_lists/upload.py): a number's
# state at a version is its last entry up to that version. So for each list the person
# appears in, every version is read: with an entry, as written; without one, KEPT when
# the last entry before it left the number on the list (its recognition date carries
# over), and absent otherwise.
_PERSON_HISTORY = """
WITH entries AS (
    SELECT e.id_number, b.year, b.category_code, b.version, e.change, e.recognized_on
      FROM subsidy_list_entry e
      JOIN subsidy_batch b ON b.tenant_id = e.tenant_id AND b.id = e.batch_id
     WHERE e.tenant_id = :t AND e.id_number = ANY(CAST(:ns AS text[])) AND (CAST(:y AS int) IS NULL OR b.year = :y)
),
lists AS (SELECT DISTINCT id_number, year, category_code FROM entries),
versions AS (
    SELECT l.id_number, b.year, b.category_code, b.version, b.uploaded_at
      FROM lists l
      JOIN subsidy_batch b ON b.tenant_id = :t AND b.year = l.year AND b.category_code = l.category_code
)
SELECT v.id_number, v.year, v.category_code, v.version,
       CASE WHEN last.version = v.version THEN last.change ELSE 'KEPT' END AS change, v.uploaded_at, last.recognized_on
  FROM versions v
  CROSS JOIN LATERAL (
        SELECT x.version, x.change, x.recognized_on FROM entries x
         WHERE x.id_number = v.id_number AND x.year = v.year AND x.category_code = v.category_code
           AND x.version <= v.version
         ORDER BY x.version DESC LIMIT 1) last
 WHERE last.version = v.version OR last.change <> 'REMOVED'
 ORDER BY v.id_number, v.year, v.category_code, v.version
"""


async def person_histories(db: Db, tenant_id: int, id_numbers: list[str], year: int | None) -> dict[str, list[HistoryRow]]:
    """Each ID number's path across the versions of every list that named it: one
    statement for a page of persons."""
    rows = await db.execute(text(_PERSON_HISTORY), {"t": tenant_id, "ns": id_numbers, "y": year})
    found: dict[str, list[HistoryRow]] = {n: [] for n in id_numbers}
    for r in rows:
        found[r.id_number].append(HistoryRow(r.year, r.category_code, r.version, r.change, r.uploaded_at, r.recognized_on))
    return found
