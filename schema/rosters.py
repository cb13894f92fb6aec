"""Rosters in the API: uploadRoster (医保局) and rosterFindings (the findings in force, in
the caller's scope). A finding is the matching life event of its person."""
from __future__ import annotations

from datetime import date, datetime

import strawberry
from strawberry.file_uploads import Upload
from strawberry.types import Info

from domain.rosters import store as rosters_store
from domain.rosters.rules import ROSTER_ALIASES, RosterKind
from domain.rosters.store import BatchRow, FindingRow
from domain.rosters.upload import RosterFile, RosterReport, upload_roster
from domain.row_reports.rules import RowReportKind
from schema.errors import RowError, UserError, row_errors
from schema.mutations import Audit, run_mutation
from schema.payments import load_person
from schema.persons import PersonType, filter_path
from schema.refund_reasons import RefundReasonEnum
from schema.relay import Connection, Node, connection, decode_cursor, page_size, to_global_id
from schema.row_reports import HeldFile, ReportOf, RowReportType, keep_row_report

RosterKindEnum = strawberry.enum(RosterKind, name="RosterKind", description="The department roster a finding comes from.")


@strawberry.type(name="RosterBatch", description="One uploaded version of a roster; the newest of a kind and year is in force.")
class RosterBatchType(Node):
    kind: RosterKindEnum  # type: ignore[valid-type]
    year: int
    version: int
    file_name: str
    rows_total: int
    rows_accepted: int
    rows_rejected: int
    matched: int = strawberry.field(description="Accepted rows naming a person registered in the county.")
    uploaded_by: str
    uploaded_at: datetime

    @classmethod
    def of(cls, row: BatchRow) -> RosterBatchType:
        return cls(
            id=to_global_id("RosterBatch", row.id), kind=row.kind, year=row.year, version=row.version,
            file_name=row.file_name, rows_total=row.rows_total, rows_accepted=row.rows_accepted,
            rows_rejected=row.rows_rejected, matched=row.matched, uploaded_by=row.uploaded_by,
            uploaded_at=row.uploaded_at,
        )


@strawberry.type(name="RosterFinding", description="A person of the county on a department's roster, with its effect.")
class RosterFindingType(Node):
    kind: RosterKindEnum  # type: ignore[valid-type]
    event_date: date | None = strawberry.field(description="Joined employee insurance, died, or insured elsewhere since.")
    paid: bool = strawberry.field(description="The person paid for the year here.")
    refund_offered: RefundReasonEnum | None = strawberry.field(  # type: ignore[valid-type]
        description="The refund reason for the money paid, when the event came before the year's window closed."
    )
    row: strawberry.Private[FindingRow]

    @classmethod
    def of(cls, row: FindingRow) -> RosterFindingType:
        return cls(
            id=to_global_id("RosterFinding", row.id), kind=row.kind, event_date=row.event_date, paid=row.paid,
            refund_offered=row.refund_offered, row=row,
        )

    @strawberry.field
    async def person(self, info: Info) -> PersonType:
        return await load_person(info, self.row.person_id)


@strawberry.input
class UploadRosterInput:
    kind: RosterKindEnum  # type: ignore[valid-type]
    year: int
    file: Upload
    dry_run: bool | None = strawberry.field(default=False, description="Check and match, write nothing.")
    client_mutation_id: str | None = None


@strawberry.type
class UploadRosterPayload:
    batch: RosterBatchType | None
    rows_total: int
    rows_accepted: int
    rows_rejected: int
    matched: int
    events_recorded: int = strawberry.field(description="Life events this version recorded.")
    events_withdrawn: int = strawberry.field(description="Events of the previous version it no longer supports.")
    dry_run: bool
    row_errors: list[RowError]
    row_report: RowReportType | None
    user_errors: list[UserError]
    client_mutation_id: str | None = None

    @classmethod
    def of(
        cls, report: RosterReport | None, batch: BatchRow | None, errors: list[UserError], row_report: RowReportType | None,
        client_mutation_id: str | None,
    ) -> UploadRosterPayload:
        if report is None:
            return cls(batch=None, rows_total=0, rows_accepted=0, rows_rejected=0, matched=0, events_recorded=0,
                       events_withdrawn=0, dry_run=True, row_errors=[], row_report=None, user_errors=errors,
                       client_mutation_id=client_mutation_id)
        return cls(
            batch=RosterBatchType.of(batch) if batch else None, rows_total=report.rows_total,
            rows_accepted=report.rows_accepted, rows_rejected=report.rows_rejected, matched=report.matched,
            events_recorded=report.events_recorded, events_withdrawn=report.events_withdrawn, dry_run=report.dry_run,
            row_errors=row_errors(report.row_errors), row_report=row_report, user_errors=errors,
            client_mutation_id=client_mutation_id,
        )


async def _upload(info: Info, input: UploadRosterInput, audit: Audit, held: HeldFile) -> RosterReport:
    context = info.context
    principal = await context.require("roster", "upload")
    await context.take_batch_slot()
    name, data = await held.read(input.file)
    clock = context.services.clock
    upload = RosterFile(RosterKind(input.kind), input.year, name, data, bool(input.dry_run))
    audit.entity = "roster_batch"
    report = await upload_roster(context.db, principal.tenant_id, upload, principal.subject, clock.today())
    audit.entity_id = report.batch_id
    audit.after = {
        "kind": upload.kind.value, "year": upload.year, "file": name, "version": report.version, "dryRun": report.dry_run,
        "rows": report.rows_total, "accepted": report.rows_accepted, "rejected": report.rows_rejected,
        "matched": report.matched, "eventsRecorded": report.events_recorded, "eventsWithdrawn": report.events_withdrawn,
    }
    return report


async def resolve_roster_batch_node(info: Info, pk: int) -> RosterBatchType | None:
    if not await info.context.may("roster", "upload"):
        return None
    principal = info.context.county_caller()
    found = await rosters_store.batches_by_ids(info.context.db, principal.tenant_id, [pk])
    return RosterBatchType.of(found[pk]) if pk in found else None


async def resolve_roster_finding_node(info: Info, pk: int) -> RosterFindingType | None:
    principal = await info.context.check("person", "read")
    row = await rosters_store.finding_by_id(info.context.db, principal.tenant_id, pk, principal.scope_path)
    return RosterFindingType.of(row) if row else None


@strawberry.type
class RosterQueries:
    @strawberry.field(description="医保局: the versions of a year's rosters, newest first (who sent what, when, how many matched).")
    async def roster_batches(
        self, info: Info, year: int, kind: RosterKindEnum | None = None,  # type: ignore[valid-type]
        first: int | None = None, after: str | None = None,
    ) -> Connection[RosterBatchType]:
        context = info.context
        principal = await context.check("roster", "upload")
        size = page_size(first, context.services.page_default, context.services.page_max)
        cursor = decode_cursor(after, 1)
        page = await rosters_store.list_batches(
            context.db, principal.tenant_id, year, RosterKind(kind) if kind else None, size, cursor[0] if cursor else None
        )
        return connection(page, after=after, node=RosterBatchType.of, cursor=lambda r: [r.id])

    @strawberry.field(
        description="Persons of the caller's scope (or of `unit`) on the newest version of each department roster of "
        "`year`, village by village: 医保局 and the county county-wide, township staff their subtree, collectors their village."
    )
    async def roster_findings(
        self, info: Info, year: int, kind: RosterKindEnum | None = None,  # type: ignore[valid-type]
        unit: strawberry.ID | None = None, first: int | None = None, after: str | None = None,
    ) -> Connection[RosterFindingType]:
        context = info.context
        principal = await context.check("person", "read")
        path = await filter_path(info, principal, unit)
        size = page_size(first, context.services.page_default, context.services.page_max)
        cursor = decode_cursor(after, 2)
        page = await rosters_store.findings(
            context.db, principal.tenant_id, year, RosterKind(kind) if kind else None, path, size,
            (cursor[0], cursor[1]) if cursor else None,
        )
        return connection(page, after=after, node=RosterFindingType.of, cursor=lambda r: [r.unit_path, r.id])


@strawberry.type
class RosterMutations:
    @strawberry.mutation(
        description="医保局: a department's roster (职工医保参保、死亡、异地参保) for a year, matched against the county's "
        "persons. All or nothing: a file with a bad row is refused whole, the row errors say why."
    )
    async def upload_roster(self, info: Info, input: UploadRosterInput) -> UploadRosterPayload:
        held = HeldFile()
        outcome = await run_mutation(info, "uploadRoster", lambda audit: _upload(info, input, audit, held))
        report = outcome.value or outcome.report
        row_report = None
        batch = None
        if report is not None:
            of = ReportOf(RowReportKind.ROSTER, input.year, category=str(input.kind.value), batch_id=report.batch_id)
            row_report = await keep_row_report(info, of, held, ROSTER_ALIASES, report.row_errors, report.rows_rejected)
        if outcome.value is not None and outcome.value.batch_id is not None:
            principal = info.context.county_caller()
            found = await rosters_store.batches_by_ids(info.context.db, principal.tenant_id, [outcome.value.batch_id])
            batch = found.get(outcome.value.batch_id)
        return UploadRosterPayload.of(report, batch, outcome.errors, row_report, input.client_mutation_id)
