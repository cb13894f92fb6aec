"""GraphQL face of enrolments: a person's year, and why its subsidy is what it is."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import strawberry
from strawberry.dataloader import DataLoader
from strawberry.types import Info

from domain.enrollment import store as enrollment_store
from domain.enrollment.rules import EnrollmentStatus
from domain.enrollment.store import EnrollmentRow
from domain.persons.rules import shown_benefit_start
from schema.policies import SubsidyModeEnum

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
    def of(cls, row: EnrollmentRow, birth_date: date, whole: bool) -> "EnrollmentType":
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

    @strawberry.field(description="Every category that applied, the winner first (highest; ties: AUTO_ENROLL, DEDUCT, REIMBURSE, then code).")
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
