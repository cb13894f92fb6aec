"""GraphQL face of enrolments: a person's year and why its subsidy is what it is; earlier
years on record (importEnrollmentHistory, enrollmentHistory); newborns' exemptions
(declareNewbornExemption, withdrawNewbornExemption, Enrollment.exemption)."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import strawberry
from strawberry.dataloader import DataLoader
from strawberry.file_uploads import Upload
from strawberry.types import Info

from domain.enrollment import exemptions as enrollment_exemptions
from domain.enrollment import history as enrollment_history
from domain.enrollment import store as enrollment_store
from domain.enrollment.exemptions import ExemptionRow, Newborn
from domain.enrollment.history import HistoryEntry, HistoryFile, HistoryReport
from domain.enrollment.rules import EnrollmentStatus, ExemptionBasis, ExemptionClaim
from domain.enrollment.store import EnrollmentRow
from domain.files.sheets import ENROLLMENT_HISTORY_ALIASES
from domain.persons import store as persons_store
from domain.persons.idnumber import IdNumberError, mask, parse_id_number
from domain.persons.rules import shown_benefit_start, shown_id_number
from domain.persons.store import PersonRow
from domain.row_reports.rules import RowReportKind
from schema import loaders
from schema.errors import PublicError, RowError, UserError, row_errors
from schema.mutations import Audit, object_in_scope, run_mutation
from schema.policy import SubsidyModeEnum
from schema.row_reports import HeldFile, ReportOf, RowReportType, keep_row_report

EnrollmentStatusEnum = strawberry.enum(EnrollmentStatus, name="EnrollmentStatus")
ExemptionBasisEnum = strawberry.enum(
    ExemptionBasis, name="ExemptionBasis", description="Why a newborn is enrolled for its birth year without paying."
)


@strawberry.type(name="NewbornExemption")
class NewbornExemptionType:
    year: int = strawberry.field(description="The year of birth: the only year exempt.")
    basis: ExemptionBasisEnum
    parent_id_number: str | None = strawberry.field(description="Whole for those allowed to see it, else masked.")
    proof_reference: str | None
    declared_by: str
    declared_at: datetime
    withdrawn_at: datetime | None
    withdrawal_reason: str | None

    @classmethod
    def of(cls, row: ExemptionRow, whole: bool) -> NewbornExemptionType:
        parent = shown_id_number(row.parent_id_number, whole) if row.parent_id_number else None
        return cls(
            year=row.year, basis=ExemptionBasis(row.basis), parent_id_number=parent, proof_reference=row.proof_reference,
            declared_by=row.declared_by, declared_at=row.declared_at, withdrawn_at=row.withdrawn_at,
            withdrawal_reason=row.withdrawal_reason,
        )


@strawberry.type
class SubsidyCandidate:
    category: str
    name: str
    mode: SubsidyModeEnum
    amount: Decimal
    applied: bool = strawberry.field(description="The one subsidy given: the highest, never a sum.")


@strawberry.type(name="Enrollment")
class EnrollmentType:
    year: int
    status: EnrollmentStatusEnum
    amount_due: Decimal
    paid_amount: Decimal
    subsidy_category: str | None
    subsidy_amount: Decimal
    subsidy_mode: SubsidyModeEnum | None
    reimbursement_due: Decimal
    benefit_start: date | None = strawberry.field(
        description="Null until paid or subsidised; a newborn's (its day of birth) is null for readers who see ID "
        "numbers masked."
    )
    person_id: strawberry.Private[int]
    whole: strawberry.Private[bool]

    @classmethod
    def of(cls, row: EnrollmentRow, birth_date: date, whole: bool) -> EnrollmentType:
        """`whole`: may the viewer see the person's birth date (see domain/persons/rules.py)."""
        return cls(
            year=row.year,
            status=EnrollmentStatus(row.status),
            amount_due=row.amount_due,
            paid_amount=row.paid_amount,
            subsidy_category=row.subsidy_category,
            subsidy_amount=row.subsidy_amount,
            subsidy_mode=row.subsidy_mode,
            reimbursement_due=row.reimbursement_due,
            benefit_start=shown_benefit_start(row.benefit_start, birth_date, whole),
            person_id=row.person_id,
            whole=whole,
        )

    @strawberry.field(description="EXEMPT: the declaration that exempts the newborn (why it pays nothing).")
    async def exemption(self, info: Info) -> NewbornExemptionType | None:
        if self.status is not EnrollmentStatus.EXEMPT:
            return None
        row = await loaders.exemptions(info.context, self.year).load(self.person_id)
        return NewbornExemptionType.of(row, self.whole) if row else None

    @strawberry.field(
        description="Every category that applied, the winner first (highest; ties: AUTO_ENROLL, DEDUCT, REIMBURSE, then code)."
    )
    async def subsidies(self, info: Info) -> list[SubsidyCandidate]:
        rows = await loaders.subsidy_candidates(info.context, self.year).load(self.person_id)
        return [SubsidyCandidate(category=r.code, name=r.name, mode=r.mode, amount=r.amount, applied=r.applied) for r in rows]


def enrollment_loader(info: Info, year: int) -> DataLoader[int, EnrollmentRow | None]:
    context = info.context
    key = f"enrollment:{year}"
    if key not in context.loaders:
        principal = context.county_caller()

        async def load(person_ids: list[int]) -> list[EnrollmentRow | None]:
            found = await enrollment_store.enrollments_of(context.db, principal.tenant_id, year, list(person_ids))
            return [found.get(i) for i in person_ids]

        context.loaders[key] = DataLoader(load_fn=load)
    return context.loaders[key]


# --- earlier years on record (参保记录) ---------------------------------------------


@strawberry.input
class ImportEnrollmentHistoryInput:
    file: Upload = strawberry.field(description=".xlsx or .csv: 证件号码, 姓名 (optional), 年度, 参保状态 (已参保/未参保).")
    dry_run: bool | None = strawberry.field(default=False, description="Check and report, write nothing.")
    client_mutation_id: str | None = None


@strawberry.type
class ImportEnrollmentHistoryPayload:
    rows_total: int
    accepted: int
    rejected: int
    inserted: int = strawberry.field(description="Person-years new to the history.")
    updated: int = strawberry.field(description="Person-years whose status changed.")
    unchanged: int
    dry_run: bool
    row_errors: list[RowError]
    row_report: RowReportType | None = strawberry.field(
        description="The rejected rows as a spreadsheet to fix and import again (none when every row passed)."
    )
    user_errors: list[UserError]
    client_mutation_id: str | None = None

    @classmethod
    def of(  # noqa: ANN206
        cls, report: HistoryReport | None, errors: list[UserError], client_mutation_id: str | None,
        row_report: RowReportType | None = None,
    ):
        if report is None:
            return cls(rows_total=0, accepted=0, rejected=0, inserted=0, updated=0, unchanged=0, dry_run=False,
                       row_errors=[], row_report=None, user_errors=errors, client_mutation_id=client_mutation_id)
        return cls(
            rows_total=report.rows_total, accepted=report.accepted, rejected=report.rejected, inserted=report.inserted,
            updated=report.updated, unchanged=report.unchanged, dry_run=report.dry_run,
            row_errors=row_errors(report.row_errors), row_report=row_report,
            user_errors=errors, client_mutation_id=client_mutation_id,
        )


@strawberry.type
class EnrollmentHistoryEntry:
    year: int
    enrolled: bool
    source: str

    @classmethod
    def of(cls, entry: HistoryEntry) -> EnrollmentHistoryEntry:
        return cls(year=entry.year, enrolled=entry.enrolled, source=entry.source)


async def _import(info: Info, input: ImportEnrollmentHistoryInput, audit: Audit, held: HeldFile) -> HistoryReport:
    context = info.context
    principal = await context.require("history", "import")
    await context.take_batch_slot()
    name, data = await held.read(input.file)
    report = await enrollment_history.import_history(
        context.db, principal.tenant_id, HistoryFile(name, data, bool(input.dry_run)), principal.subject,
        context.services.clock.today(),
    )
    audit.entity = "enrollment_history"
    audit.after = {
        "file": name, "dryRun": report.dry_run, "rows": report.rows_total, "accepted": report.accepted,
        "inserted": report.inserted, "updated": report.updated, "rejected": report.rejected,
    }
    return report


@strawberry.type
class EnrollmentHistoryQueries:
    @strawberry.field(description="Earlier years' enrolment of an ID number, as imported (医保局).")
    async def enrollment_history(self, info: Info, id_number: str) -> list[EnrollmentHistoryEntry]:
        principal = await info.context.check("history", "import")
        try:
            number = parse_id_number(id_number).value
        except IdNumberError as error:
            raise PublicError(error.code) from None
        rows = await enrollment_history.history_of(info.context.db, principal.tenant_id, number)
        return [EnrollmentHistoryEntry.of(r) for r in rows]


@strawberry.type
class EnrollmentHistoryMutations:
    @strawberry.mutation(description="医保局: earlier years' enrolment by ID number, upserted (the breaks behind waiting periods).")
    async def import_enrollment_history(self, info: Info, input: ImportEnrollmentHistoryInput) -> ImportEnrollmentHistoryPayload:
        held = HeldFile()
        outcome = await run_mutation(info, "importEnrollmentHistory", lambda audit: _import(info, input, audit, held))
        report, row_report = outcome.value, None
        if report is not None:
            today = info.context.services.clock.today()
            of = ReportOf(RowReportKind.HISTORY_IMPORT, today.year)
            row_report = await keep_row_report(
                info, of, held, ENROLLMENT_HISTORY_ALIASES, report.row_errors, report.rejected
            )
        return ImportEnrollmentHistoryPayload.of(report, outcome.errors, input.client_mutation_id, row_report)


# --- newborns' exemptions (内乡: a parent insured in the city) -----------------------


@strawberry.input
class NewbornExemptionInput:
    basis: ExemptionBasisEnum
    parent_id_number: str | None = strawberry.field(
        default=None, description="PARENT_ENROLLED: checked against this county's enrolments for the year of birth."
    )
    proof_reference: str | None = strawberry.field(
        default=None, description="PARENT_COVER_DECLARED: the reference of the proof of cover elsewhere in the city."
    )

    def to_claim(self) -> ExemptionClaim:
        return ExemptionClaim(ExemptionBasis(self.basis), self.parent_id_number, self.proof_reference)


@strawberry.input
class DeclareNewbornExemptionInput:
    person: strawberry.ID
    basis: ExemptionBasisEnum
    parent_id_number: str | None = None
    proof_reference: str | None = None
    client_mutation_id: str | None = None


@strawberry.input
class WithdrawNewbornExemptionInput:
    person: strawberry.ID
    reason: str
    client_mutation_id: str | None = None


@strawberry.type
class NewbornExemptionPayload:
    exemption: NewbornExemptionType | None
    enrollment: EnrollmentType | None = strawberry.field(description="The year of birth's enrolment after the change.")
    user_errors: list[UserError]
    client_mutation_id: str | None = None


async def _newborn(info: Info, person_id: strawberry.ID) -> PersonRow:
    """The child named, if the caller may register persons where it lives."""
    context = info.context

    async def load(tenant_id: int, pk: int) -> PersonRow | None:
        found = await persons_store.persons_by_ids(context.db, tenant_id, context.mutation_caller().scope_path, [pk])
        return found.get(pk)

    row = await object_in_scope(context, person_id, "Person", load, ("person", "write"), "person", "person")
    await context.require("person", "write", row.unit_path)
    return row


def _audited(audit: Audit, child: PersonRow, row: ExemptionRow) -> None:
    audit.entity, audit.entity_id = "newborn_exemption", row.id
    audit.after = {
        "idNumber": mask(child.id_number), "year": row.year, "basis": row.basis,
        "parentIdNumber": mask(row.parent_id_number) if row.parent_id_number else None,
        "withdrawn": row.withdrawn_at is not None,
    }


async def _declare(info: Info, input: DeclareNewbornExemptionInput, audit: Audit) -> tuple[PersonRow, ExemptionRow]:
    principal = info.context.mutation_caller()
    child = await _newborn(info, input.person)
    claim = ExemptionClaim(ExemptionBasis(input.basis), input.parent_id_number, input.proof_reference)
    row = await enrollment_exemptions.declare_exemption(
        info.context.db, principal.tenant_id, Newborn(child.id, child.id_number, child.birth_date), claim, principal.subject
    )
    _audited(audit, child, row)
    return child, row


async def _withdraw(info: Info, input: WithdrawNewbornExemptionInput, audit: Audit) -> tuple[PersonRow, ExemptionRow]:
    principal = info.context.mutation_caller()
    child = await _newborn(info, input.person)
    row = await enrollment_exemptions.withdraw_exemption(
        info.context.db, principal.tenant_id, Newborn(child.id, child.id_number, child.birth_date), input.reason,
        principal.subject,
    )
    audit.before = {"basis": row.basis}
    _audited(audit, child, row)
    return child, row


async def _exemption_payload(
    info: Info, outcome_value: tuple[PersonRow, ExemptionRow] | None, errors: list[UserError], client_mutation_id: str | None
) -> NewbornExemptionPayload:
    if outcome_value is None:
        return NewbornExemptionPayload(exemption=None, enrollment=None, user_errors=errors, client_mutation_id=client_mutation_id)
    child, row = outcome_value
    whole = info.context.caller().sees_whole_id_numbers
    found = await enrollment_store.enrollments_of(info.context.db, info.context.caller().tenant_id, row.year, [child.id])
    enrollment = EnrollmentType.of(found[child.id], child.birth_date, whole) if child.id in found else None
    return NewbornExemptionPayload(
        exemption=NewbornExemptionType.of(row, whole), enrollment=enrollment, user_errors=errors,
        client_mutation_id=client_mutation_id,
    )


@strawberry.type
class NewbornExemptionMutations:
    @strawberry.mutation(
        description="Collectors and up, in scope: a newborn whose father or mother is insured in the city is enrolled for "
        "its year of birth without paying (where that year's policy grants it). Audited."
    )
    async def declare_newborn_exemption(self, info: Info, input: DeclareNewbornExemptionInput) -> NewbornExemptionPayload:
        outcome = await run_mutation(info, "declareNewbornExemption", lambda audit: _declare(info, input, audit))
        return await _exemption_payload(info, outcome.value, outcome.errors, input.client_mutation_id)

    @strawberry.mutation(
        description="Collectors and up, in scope: withdraw a wrong declaration; the year goes back to its subsidy or to "
        "UNPAID. The declaration stays on record, withdrawn. Audited."
    )
    async def withdraw_newborn_exemption(self, info: Info, input: WithdrawNewbornExemptionInput) -> NewbornExemptionPayload:
        outcome = await run_mutation(info, "withdrawNewbornExemption", lambda audit: _withdraw(info, input, audit))
        return await _exemption_payload(info, outcome.value, outcome.errors, input.client_mutation_id)
