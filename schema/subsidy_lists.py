"""GraphQL face of subsidy lists: uploadSubsidyList, subsidyBatches, Person.subsidyHistory."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.file_uploads import Upload
from strawberry.types import Info

from authz.enforcer import category_object
from authz.principal import Principal
from domain.enrollment.rules import EnrollmentStatus
from domain.files.sheets import SUBSIDY_LIST_ALIASES
from domain.persons.idnumber import mask
from domain.policy import store as policy_store
from domain.row_reports.rules import RowReportKind
from domain.subsidy_lists import store as subsidy_lists_store
from domain.subsidy_lists.store import BatchRow, HistoryRow
from domain.subsidy_lists.upload import (
    REMOVAL_LIMIT,
    Removal,
    UploadReport,
    upload_list,
)
from domain.subsidy_lists.upload import Upload as ListUpload
from schema import loaders
from schema.enrollment import EnrollmentStatusEnum
from schema.errors import RowError, UserError, row_errors
from schema.id_lookups import take_upload_lookup
from schema.mutations import Audit, run_mutation
from schema.relay import (
    Connection,
    Node,
    connection,
    decode_cursor,
    page_size,
    to_global_id,
)
from schema.row_reports import HeldFile, ReportOf, RowReportType, keep_row_report
from schema.tenants import UnitType, load_unit
from schema.warnings import WarningType, warnings_opened_now
from tenants.problems import ErrorCode, Problem, Rejected

if TYPE_CHECKING:
    from schema.persons import PersonType



@strawberry.type(name="SubsidyBatch")
class SubsidyBatchType(Node):
    year: int
    category: str
    version: int
    rows_total: int
    rows_accepted: int
    rows_rejected: int
    added: int
    removed: int
    pending: int = strawberry.field(description="Accepted rows whose person is not registered yet.")
    file_name: str | None
    checksum: str | None
    uploaded_by: str | None
    uploaded_at: datetime | None
    dry_run: bool = strawberry.field(description="True when nothing was written: a dry run, or a refused upload.")

    @classmethod
    def of_batch(cls, row: BatchRow) -> SubsidyBatchType:
        return cls(
            id=to_global_id("SubsidyBatch", row.id), year=row.year, category=row.category, version=row.version,
            rows_total=row.rows_total, rows_accepted=row.rows_accepted, rows_rejected=row.rows_rejected,
            added=row.added, removed=row.removed, pending=row.pending, file_name=row.file_name,
            checksum=row.checksum, uploaded_by=row.uploaded_by, uploaded_at=row.uploaded_at, dry_run=False,
        )

    @classmethod
    def of_report(cls, report: UploadReport, file_name: str) -> SubsidyBatchType:
        return cls(
            id=to_global_id("SubsidyBatch", report.batch_id or 0), year=report.year, category=report.category,
            version=report.version, rows_total=report.rows_total, rows_accepted=report.rows_accepted,
            rows_rejected=report.rows_rejected, added=report.added, removed=report.removed, pending=report.pending,
            file_name=file_name, checksum=None, uploaded_by=None, uploaded_at=None, dry_run=report.dry_run,
        )


@strawberry.type
class SubsidyHistoryEntry:
    year: int
    category: str
    version: int
    change: str = strawberry.field(description="ADDED, KEPT or REMOVED in that version of the list.")
    uploaded_at: datetime
    recognized_on: date | None

    @classmethod
    def of(cls, row: HistoryRow) -> SubsidyHistoryEntry:
        return cls(year=row.year, category=row.category, version=row.version, change=row.change,
                   uploaded_at=row.uploaded_at, recognized_on=row.recognized_on)


PersonRef = Annotated["PersonType", strawberry.lazy("schema.persons")]


@strawberry.type
class SubsidyRemoval:
    """A member of the previous version the new one leaves out, and what it costs them
    this year. Pending members (not registered) have no person, unit or amounts."""

    id_number: str = strawberry.field(description="Whole for those allowed to see it, else 411325********1234.")
    name: str = strawberry.field(description="As registered; for a pending member, as last listed.")
    status_before: EnrollmentStatusEnum | None
    status_after: EnrollmentStatusEnum | None
    amount_due_before: Decimal | None
    amount_due_after: Decimal | None
    subsidy_before: Decimal | None
    subsidy_after: Decimal | None
    category_before: str | None = strawberry.field(description="The subsidy category applied before (any list's).")
    category_after: str | None
    person_id: strawberry.Private[int | None]
    unit_id: strawberry.Private[int | None]

    @classmethod
    def of(cls, removal: Removal, viewer: Principal) -> SubsidyRemoval:
        before, after = removal.before, removal.after
        return cls(
            id_number=removal.id_number if viewer.sees_whole_id_numbers else mask(removal.id_number),
            name=removal.name,
            status_before=EnrollmentStatus(before.status) if before else None,
            status_after=EnrollmentStatus(after.status) if after else None,
            amount_due_before=before.amount_due if before else None,
            amount_due_after=after.amount_due if after else None,
            subsidy_before=before.subsidy_amount if before else None,
            subsidy_after=after.subsidy_amount if after else None,
            category_before=before.subsidy_category if before else None,
            category_after=after.subsidy_category if after else None,
            person_id=removal.person_id, unit_id=removal.unit_id,
        )

    @strawberry.field(description="Null for a pending member.")
    async def person(self, info: Info) -> PersonRef | None:
        from schema.persons import PersonType

        row = await loaders.persons(info.context).load(self.person_id) if self.person_id else None
        return PersonType.of(row, info.context.caller()) if row else None

    @strawberry.field(description="The person's village (or school); null for a pending member.")
    async def unit(self, info: Info) -> UnitType | None:
        return await load_unit(info, self.unit_id)


@strawberry.input
class UploadSubsidyListInput:
    year: int
    category: str
    file: Upload
    dry_run: bool | None = False
    confirm_removals: bool | None = strawberry.field(
        default=False,
        description="Apply a version that accepts no row or removes more than the set share of the members"
        " (ZHENGJIAO_LIST_REMOVAL_SHARE, by default 20 %): check its removals in a dry run first.",
    )
    client_mutation_id: str | None = None


@strawberry.type
class UploadSubsidyListPayload:
    batch: SubsidyBatchType | None = strawberry.field(
        description="Also when refused for its removals: the counts, as a dry run gives them."
    )
    row_errors: list[RowError]
    removals: list[SubsidyRemoval] = strawberry.field(
        description=f"Who leaves the list and what it costs them (the first {REMOVAL_LIMIT:,}, by ID number)."
    )
    removals_total: int = strawberry.field(description="Every member this version removes.")
    row_report: RowReportType | None = strawberry.field(
        default=None, description="The rejected rows as a spreadsheet to fix and upload again (none when every row passed)."
    )
    user_errors: list[UserError]
    client_mutation_id: str | None = None
    warnings: list[WarningType] = strawberry.field(
        default_factory=list,
        description="ENROLLED_ELSEWHERE for each person the version enrolled whom another county enrols for the year too.",
    )


async def _upload(info: Info, input: UploadSubsidyListInput, audit: Audit, held: HeldFile) -> UploadReport:
    context = info.context
    principal = context.mutation_caller()
    policy = await policy_store.load_policy(context.db, principal.tenant_id, input.year) if principal.tenant_id else None
    if policy is None or policy.category(input.category) is None:
        await context.require("tenant", "read")
        raise Rejected([Problem(ErrorCode.NOT_FOUND, ["category"], {"year": input.year, "category": input.category}, "CATEGORY")])
    await context.require(category_object(input.year, input.category), "upload")
    # The report tells which of the file's numbers are registered (pending, NAME_MISMATCH).
    await take_upload_lookup(info, principal, "uploadSubsidyList")
    await context.take_batch_slot()
    name, data = await held.read(input.file)
    services = context.services
    upload = ListUpload(
        input.year, input.category, name, data, bool(input.dry_run),
        confirm_removals=bool(input.confirm_removals), removal_share=services.list_removal_share,
    )
    report = await upload_list(context.db, principal.tenant_id, policy, upload, principal.subject, services.clock.today())
    audit.entity, audit.entity_id = "subsidy_batch", report.batch_id
    audit.after = {
        "year": input.year, "category": input.category, "version": report.version, "dryRun": report.dry_run,
        "file": name, "accepted": report.rows_accepted, "rejected": report.rows_rejected,
        "added": report.added, "removed": report.removed, "removalsConfirmed": report.removals_confirmed,
    }
    return report


async def readable_categories(info: Info, year: int, categories: list[str]) -> list[str]:
    return [code for code in categories if await info.context.may(category_object(year, code), "read")]


@strawberry.type
class SubsidyQueries:
    @strawberry.field(description="Uploads of a year's lists, newest first; each department sees its own categories.")
    async def subsidy_batches(
        self, info: Info, year: int, category: str | None = None, first: int | None = None, after: str | None = None
    ) -> Connection[SubsidyBatchType]:
        context = info.context
        principal = context.county_caller()
        policy = await policy_store.load_policy(context.db, principal.tenant_id, year)
        codes = [c.code for c in policy.categories] if policy else []
        if category is not None:
            codes = [c for c in codes if c == category]
        allowed = await readable_categories(info, year, codes)
        size = page_size(first, context.services.page_default, context.services.page_max)
        cursor = decode_cursor(after, 1)
        page = await subsidy_lists_store.list_batches(
            context.db, principal.tenant_id, year, allowed, size, cursor[0] if cursor else None
        )
        return connection(
            page, after=after,
            node=lambda r: SubsidyBatchType.of_batch(r), cursor=lambda r: [r.id],
        )


@strawberry.type
class SubsidyMutations:
    @strawberry.mutation(description="The owning department (or 医保局): a new version of a category's list.")
    async def upload_subsidy_list(self, info: Info, input: UploadSubsidyListInput) -> UploadSubsidyListPayload:
        held = HeldFile()
        outcome = await run_mutation(info, "uploadSubsidyList", lambda audit: _upload(info, input, audit, held))
        # Refused for its removals, the upload still reports what a dry run would.
        report = outcome.value or outcome.report
        if report is None:
            return UploadSubsidyListPayload(batch=None, row_errors=[], removals=[], removals_total=0,
                                            user_errors=outcome.errors, client_mutation_id=input.client_mutation_id)
        viewer = info.context.caller()
        of = ReportOf(RowReportKind.SUBSIDY_LIST, input.year, input.category, report.batch_id)
        row_report = await keep_row_report(info, of, held, SUBSIDY_LIST_ALIASES, report.row_errors, report.rows_rejected)
        # (a dry run's or refused version's enrolments were rolled back, and their cases with them)
        warnings = await warnings_opened_now(info, input.year) if outcome.value is not None else []
        return UploadSubsidyListPayload(
            warnings=warnings,
            batch=SubsidyBatchType.of_report(report, getattr(input.file, "filename", None) or "upload"),
            row_errors=row_errors(report.row_errors),
            removals=[SubsidyRemoval.of(r, viewer) for r in report.removals],
            removals_total=report.removed,
            row_report=row_report,
            user_errors=outcome.errors,
            client_mutation_id=input.client_mutation_id,
        )
