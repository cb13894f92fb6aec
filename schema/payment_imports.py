"""GraphQL face of channel files: importPayments, paymentImports, PaymentImport."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import strawberry
from strawberry.file_uploads import Upload
from strawberry.types import Info

from authz.principal import COUNTY_SCOPE
from domain.files.sheets import PAYMENT_FILE_ALIASES
from domain.payments import imports as payments_imports
from domain.payments.imports import (
    Importer,
    ImportReport,
    ImportRow,
    PaymentFile,
    RowsRejected,
)
from domain.policy import store as policy_store
from domain.row_reports.rules import RowReportKind
from schema.context import Context
from schema.errors import PublicError, RowError, UserError, row_errors
from schema.mutations import Audit, run_mutation
from schema.relay import (
    Connection,
    Node,
    connection,
    decode_cursor,
    from_global_id,
    page_size,
    to_global_id,
)
from schema.row_reports import HeldFile, ReportOf, RowReportType, keep_row_report
from schema.warnings import WarningType, warnings_opened_now
from tenants.problems import ErrorCode, Problem, Rejected


@strawberry.type(name="PaymentImport")
class PaymentImportType(Node):
    year: int
    file_name: str
    checksum: str = strawberry.field(description="sha256 of the file as uploaded.")
    imported_by: str
    imported_at: datetime
    rows_total: int
    accepted: int
    duplicates: int
    already_imported: int
    rejected: int

    @classmethod
    def of(cls, row: ImportRow) -> PaymentImportType:
        return cls(
            id=to_global_id("PaymentImport", row.id), year=row.year, file_name=row.file_name, checksum=row.checksum,
            imported_by=row.imported_by, imported_at=row.imported_at, rows_total=row.rows_total, accepted=row.accepted,
            duplicates=row.duplicates, already_imported=row.already_imported, rejected=row.rejected,
        )


@strawberry.input
class ImportPaymentsInput:
    year: int
    file: Upload = strawberry.field(description="A channel file, .xlsx or .csv: 证件号码, 姓名, 金额, 渠道, 缴费时间, 流水号 (收据号).")
    dry_run: bool | None = strawberry.field(default=False, description="Check and report, write nothing.")
    atomic: bool | None = strawberry.field(
        default=False, description="Write nothing when any row has an error (default: write the good rows)."
    )
    client_mutation_id: str | None = None


@strawberry.type
class ImportPaymentsPayload:
    accepted: int = strawberry.field(description="New payments that paid a person-year.")
    duplicates: int = strawberry.field(description="Payments for a person-year already paid: kept as DUPLICATE, refund opened.")
    already_imported: int = strawberry.field(description="Rows whose 流水号 was recorded before with the same content.")
    rejected: int = strawberry.field(description="Rows with an error (see rowErrors).")
    rows_total: int
    dry_run: bool
    atomic: bool
    written: bool = strawberry.field(description="Whether anything was recorded.")
    import_id: strawberry.ID | None = strawberry.field(description="The recorded PaymentImport (none for dry runs).")
    row_errors: list[RowError]
    row_report: RowReportType | None = strawberry.field(
        description="The rejected rows as a spreadsheet to fix and import again (none when every row passed)."
    )
    user_errors: list[UserError]
    client_mutation_id: str | None = None
    warnings: list[WarningType] = strawberry.field(
        default_factory=list,
        description="ENROLLED_ELSEWHERE for each person the file enrolled whom another county enrols for the year too.",
    )

    @classmethod
    def of(
        cls, report: ImportReport | None, errors: list[UserError], client_mutation_id: str | None,
        row_report: RowReportType | None = None,
    ) -> ImportPaymentsPayload:
        if report is None:
            return cls(
                accepted=0, duplicates=0, already_imported=0, rejected=0, rows_total=0, dry_run=False, atomic=False,
                written=False, import_id=None, row_errors=[], row_report=None, user_errors=errors,
                client_mutation_id=client_mutation_id,
            )
        return cls(
            accepted=report.accepted, duplicates=report.duplicates, already_imported=report.already_imported,
            rejected=report.rejected, rows_total=report.rows_total, dry_run=report.dry_run, atomic=report.atomic,
            written=report.written,
            import_id=to_global_id("PaymentImport", report.import_id) if report.import_id else None,
            row_errors=row_errors(report.row_errors), row_report=row_report,
            user_errors=errors, client_mutation_id=client_mutation_id,
        )

    @strawberry.field(description="The recorded import.")
    async def payment_import(self, info: Info) -> PaymentImportType | None:
        if self.import_id is None:
            return None
        return await resolve_payment_import_node(info, from_global_id(self.import_id)[1])


@dataclass
class _Held:
    report: ImportReport | None = None  # an atomic import's report, kept across its rejection
    file: HeldFile = field(default_factory=HeldFile)


async def _import(info: Info, input: ImportPaymentsInput, audit: Audit, held: _Held) -> ImportReport:
    context = info.context
    principal = await context.require("payment", "import")
    policy = await policy_store.load_policy(context.db, principal.tenant_id, input.year)
    if policy is None:
        raise Rejected([Problem(ErrorCode.NO_POLICY, ["year"], {"year": input.year})])
    await context.take_batch_slot()
    name, data = await held.file.read(input.file)
    upload = PaymentFile(input.year, name, data, bool(input.dry_run), bool(input.atomic))
    clock = context.services.clock
    audit.entity = "payment_import"
    try:
        report = await payments_imports.import_payments(
            context.db, principal.tenant_id, policy, upload, Importer(principal.subject, principal.scope_path),
            clock.now(), clock.today(),
        )
    except RowsRejected as rejected:
        held.report = rejected.report
        raise
    audit.entity_id = report.import_id
    audit.after = {
        "year": input.year, "file": name, "checksum": report.checksum, "dryRun": report.dry_run, "atomic": report.atomic,
        "rows": report.rows_total, "accepted": report.accepted, "duplicates": report.duplicates,
        "alreadyImported": report.already_imported, "rejected": report.rejected,
    }
    return report


async def may_list_imports(context: Context) -> bool:
    """The tax bureau, and whoever reads payments county-wide (finance, 医保局, the admin)."""
    principal = context.county_caller()
    if await context.may("payment", "import"):
        return True
    return principal.scope_path == COUNTY_SCOPE and await context.may("payment", "read")


async def resolve_payment_import_node(info: Info, pk: int) -> PaymentImportType | None:
    if not await may_list_imports(info.context):
        return None
    principal = info.context.county_caller()
    found = await payments_imports.imports_by_ids(info.context.db, principal.tenant_id, [pk])
    return PaymentImportType.of(found[pk]) if pk in found else None


@strawberry.type
class PaymentImportQueries:
    @strawberry.field(description="Channel files imported, newest first: the tax bureau and county-wide payment readers.")
    async def payment_imports(
        self, info: Info, year: int | None = None, first: int | None = None, after: str | None = None
    ) -> Connection[PaymentImportType]:
        context = info.context
        principal = context.county_caller()
        if not await may_list_imports(info.context):
            raise PublicError(ErrorCode.FORBIDDEN)
        size = page_size(first, context.services.page_default, context.services.page_max)
        cursor = decode_cursor(after, 1)
        page = await payments_imports.list_imports(
            context.db, principal.tenant_id, year, size, cursor[0] if cursor else None
        )
        return connection(
            page, after=after,
            node=lambda r: PaymentImportType.of(r), cursor=lambda r: [r.id],
        )


@strawberry.type
class PaymentImportMutations:
    @strawberry.mutation(
        description="The tax bureau: a channel file of payments, checked row by row with the rules of recordPayment."
    )
    async def import_payments(self, info: Info, input: ImportPaymentsInput) -> ImportPaymentsPayload:
        held = _Held()
        outcome = await run_mutation(info, "importPayments", lambda audit: _import(info, input, audit, held))
        report = outcome.value or held.report
        row_report = None
        if report is not None:
            of = ReportOf(RowReportKind.PAYMENT_IMPORT, input.year, batch_id=report.import_id)
            row_report = await keep_row_report(
                info, of, held.file, PAYMENT_FILE_ALIASES, report.row_errors, report.rejected
            )
        payload = ImportPaymentsPayload.of(report, outcome.errors, input.client_mutation_id, row_report)
        if outcome.value is not None and outcome.value.written:
            payload.warnings = await warnings_opened_now(info, input.year)
        return payload
