"""GraphQL face of enrolments: a person's year and why its subsidy is what it is; earlier
years on record (importEnrollmentHistory, enrollmentHistory)."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import strawberry
from strawberry.dataloader import DataLoader
from strawberry.file_uploads import Upload
from strawberry.types import Info

from domain.enrollment import history as enrollment_history
from domain.enrollment import store as enrollment_store
from domain.enrollment.history import HistoryEntry, HistoryFile, HistoryReport
from domain.enrollment.rules import EnrollmentStatus
from domain.enrollment.store import EnrollmentRow
from domain.persons.idnumber import IdNumberError, parse_id_number
from domain.persons.rules import shown_benefit_start
from schema.errors import PublicError, RowError, UserError
from schema.mutations import Audit, run_mutation
from schema.policy import SubsidyModeEnum
from schema.uploads import read_upload

EnrollmentStatusEnum = strawberry.enum(EnrollmentStatus, name="EnrollmentStatus")


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
        )

    @strawberry.field(
        description="Every category that applied, the winner first (highest; ties: AUTO_ENROLL, DEDUCT, REIMBURSE, then code)."
    )
    async def subsidies(self, info: Info) -> list[SubsidyCandidate]:
        context = info.context
        principal = context.county_caller()
        rows = await enrollment_store.explain(context.db, principal.tenant_id, self.year, self.person_id)
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
    user_errors: list[UserError]
    client_mutation_id: str | None = None

    @classmethod
    def of(cls, report: HistoryReport | None, errors: list[UserError], client_mutation_id: str | None):  # noqa: ANN206
        if report is None:
            return cls(rows_total=0, accepted=0, rejected=0, inserted=0, updated=0, unchanged=0, dry_run=False,
                       row_errors=[], user_errors=errors, client_mutation_id=client_mutation_id)
        return cls(
            rows_total=report.rows_total, accepted=report.accepted, rejected=report.rejected, inserted=report.inserted,
            updated=report.updated, unchanged=report.unchanged, dry_run=report.dry_run,
            row_errors=[RowError(row=e.row, column=e.column, code=e.code, message=e.message) for e in report.row_errors],
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


async def _import(info: Info, input: ImportEnrollmentHistoryInput, audit: Audit) -> HistoryReport:
    context = info.context
    principal = await context.require("history", "import")
    name, data = await read_upload(input.file)
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
            raise PublicError(error.code, error.message) from None
        rows = await enrollment_history.history_of(info.context.db, principal.tenant_id, number)
        return [EnrollmentHistoryEntry.of(r) for r in rows]


@strawberry.type
class EnrollmentHistoryMutations:
    @strawberry.mutation(description="医保局: earlier years' enrolment by ID number, upserted (the breaks behind waiting periods).")
    async def import_enrollment_history(self, info: Info, input: ImportEnrollmentHistoryInput) -> ImportEnrollmentHistoryPayload:
        outcome = await run_mutation(info, "importEnrollmentHistory", lambda audit: _import(info, input, audit))
        return ImportEnrollmentHistoryPayload.of(outcome.value, outcome.errors, input.client_mutation_id)
