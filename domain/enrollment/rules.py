"""A person's year (参保): which subsidy applies, what is left to collect, the status.

Pure rules over a `YearPolicy`: no database, no clock (DOMAIN.md §4 "Subsidy
categories"). A person gets the single highest subsidy of the categories they qualify
for, once ("就高不就低 … 补贴一次"), never a sum. domain/enrollment/sql.py does the same
set-wise for a whole county; tests/test_amount_due_sql.py proves the two equal.

Newborn exemption (内乡, DOMAIN.md §9): "新生儿父或母参加我市基本医保的，新生儿出生不用缴费
即可享受当年城乡居民医保待遇" — a newborn whose father or mother is insured in the city is
enrolled for its birth year without paying (EXEMPT), where the birth year's policy
grants it; for the birth year only ("2022年底出生的小孩，必须缴费才能享受次年医保待遇").
`check_exemption_claim` says what is wrong with a declaration.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum

from domain.money import ZERO, money
from domain.persons.idnumber import IdNumberError, mask, parse_id_number
from domain.persons.rules import age_at
from domain.policy.rules import (
    SubsidyCategory,
    SubsidyMode,
    YearPolicy,
    category_amount,
)
from tenants.problems import ErrorCode, Problem

# Tie order between categories of the same amount: the money nobody has to collect
# first wins, the money that must be paid up front and claimed back last.
MODE_PREFERENCE: dict[SubsidyMode, int] = {
    SubsidyMode.AUTO_ENROLL: 0,
    SubsidyMode.DEDUCT: 1,
    SubsidyMode.REIMBURSE: 2,
}


class EnrollmentStatus(StrEnum):
    UNPAID = "UNPAID"
    PAID = "PAID"
    SUBSIDIZED = "SUBSIDIZED"
    REFUNDED = "REFUNDED"
    EXEMPT = "EXEMPT"  # a newborn's birth year, without paying: a parent is insured in the city (内乡)
    # A life event before the window closed (died, employee insurance, moved out,
    # enlisted; domain/persons/events.py): not required to enrol, nothing to collect.
    EXCUSED = "EXCUSED"


# Enrolled for the year: counted in progress, as a year of cover for waiting periods, and
# as a parent's cover for a newborn's exemption.
ENROLLED = (EnrollmentStatus.PAID, EnrollmentStatus.SUBSIDIZED, EnrollmentStatus.EXEMPT)


class ExemptionBasis(StrEnum):
    """Why a newborn is exempt: the parent's cover, checked here or declared."""

    PARENT_ENROLLED = "PARENT_ENROLLED"  # the parent is enrolled in this county for the birth year (checked)
    PARENT_COVER_DECLARED = "PARENT_COVER_DECLARED"  # cover elsewhere in the city, employee insurance included (proof)


MAX_PROOF_LENGTH = 200


@dataclass(frozen=True)
class ExemptionClaim:
    basis: ExemptionBasis
    parent_id_number: str | None = None  # required for PARENT_ENROLLED
    proof_reference: str | None = None  # required for PARENT_COVER_DECLARED (证明材料编号)


@dataclass(frozen=True)
class CheckedClaim:
    basis: ExemptionBasis
    parent_id_number: str | None  # normalised
    proof_reference: str | None  # trimmed


def check_exemption_claim(
    claim: ExemptionClaim, child_id_number: str, child_birth: date, policy: YearPolicy | None,
    status: EnrollmentStatus | None,
) -> tuple[list[Problem], CheckedClaim | None]:
    """Every problem of a declaration for a newborn's birth year, as far as it can be told
    without the database (field paths relative to the claim). `policy` and `status` are
    the birth year's (None: no policy, no enrolment)."""
    year = child_birth.year
    if policy is None or status is None:
        return [Problem(ErrorCode.NO_POLICY, [], {"year": year}, "BIRTH_YEAR")], None
    if not policy.newborn_parent_exemption:
        return [Problem(ErrorCode.EXEMPTION_NOT_GRANTED, [], {"year": year})], None
    problems: list[Problem] = []
    if status in (EnrollmentStatus.PAID, EnrollmentStatus.REFUNDED):
        problems.append(Problem(ErrorCode.PAYMENT_ON_RECORD, [], {"year": year, "status": status}))
    elif status is EnrollmentStatus.EXEMPT:
        problems.append(Problem(ErrorCode.ALREADY_EXEMPT, [], {"year": year}))
    parent = _parent_number(claim, child_id_number, child_birth, problems)
    proof = (claim.proof_reference or "").strip() or None
    if claim.basis is ExemptionBasis.PARENT_COVER_DECLARED and proof is None:
        problems.append(Problem(ErrorCode.PROOF_REQUIRED, ["proofReference"]))
    elif proof is not None and len(proof) > MAX_PROOF_LENGTH:
        problems.append(Problem(ErrorCode.INVALID_PROOF, ["proofReference"], {"limit": MAX_PROOF_LENGTH}))
    if problems:
        return problems, None
    return [], CheckedClaim(claim.basis, parent, proof)


def _parent_number(claim: ExemptionClaim, child_id_number: str, child_birth: date, problems: list[Problem]) -> str | None:
    raw = (claim.parent_id_number or "").strip()
    if not raw:
        if claim.basis is ExemptionBasis.PARENT_ENROLLED:
            problems.append(Problem(ErrorCode.PARENT_REQUIRED, ["parentIdNumber"]))
        return None
    try:
        parent = parse_id_number(raw)
    except IdNumberError as error:
        problems.append(error.at("parentIdNumber"))
        return None
    if parent.value == child_id_number or parent.birth_date >= child_birth:
        problems.append(
            Problem(ErrorCode.INVALID_PARENT, ["parentIdNumber"], {"parent": mask(parent.value)}, "NEWBORN")
        )
        return None
    return parent.value


def recognized_in_time(policy: YearPolicy, recognized_on: date | None) -> bool:
    """Whether a list entry counts this year: after the list cutoff it does not (内乡).

    An entry without a recognition date is taken as in time: the list itself was
    accepted, and the cutoff is about hardship recognised late.
    """
    return policy.list_cutoff is None or recognized_on is None or recognized_on <= policy.list_cutoff


def applicable_categories(
    policy: YearPolicy, listed_codes: set[str], birth_date: date | None
) -> list[SubsidyCategory]:
    """The categories a person qualifies for, in policy order.

    List categories count when the person is on their list (`listed_codes`, already
    filtered by the caller for the list cutoff). Age-based categories count when the
    age at `policy.reference_date` is inside their range; being "listed" in one does
    not count, since they have no list. Unknown codes are ignored.
    """
    age = _age_on_reference(policy, birth_date)
    found: list[SubsidyCategory] = []
    for category in policy.categories:
        if category.age_based:
            if age is not None and _in_range(age, category):
                found.append(category)
        elif category.code in listed_codes:
            found.append(category)
    return found


def _age_on_reference(policy: YearPolicy, birth_date: date | None) -> int | None:
    # Born after the reference date (a newborn of the benefit year): no age category.
    if birth_date is None or birth_date > policy.reference_date:
        return None
    return age_at(birth_date, policy.reference_date)


def _in_range(age: int, category: SubsidyCategory) -> bool:
    low = category.min_age if category.min_age is not None else 0
    return low <= age and (category.max_age is None or age <= category.max_age)


def _rank(policy: YearPolicy, category: SubsidyCategory) -> tuple[Decimal, int, str]:
    return (-category_amount(category, policy.standard), MODE_PREFERENCE[category.mode], category.code)


def rank_candidates(policy: YearPolicy, candidates: list[SubsidyCategory]) -> list[SubsidyCategory]:
    """Candidates best first, in the order of `choose_subsidy`."""
    return sorted(candidates, key=lambda c: _rank(policy, c))


def choose_subsidy(policy: YearPolicy, candidates: list[SubsidyCategory]) -> SubsidyCategory | None:
    """The single subsidy a person gets: the highest, never a sum.

    Order, first difference wins:
    1. higher amount (category_amount at the policy's standard);
    2. mode AUTO_ENROLL, then DEDUCT, then REIMBURSE (money nobody has to collect or
       pay up front first);
    3. category code, alphabetically (so the choice never depends on list order).
    """
    ranked = rank_candidates(policy, candidates)
    return ranked[0] if ranked else None


@dataclass(frozen=True)
class AmountDue:
    status_if_unpaid: EnrollmentStatus  # the status before any payment
    amount_due: Decimal  # what the person pays
    subsidy_category: str | None
    subsidy_amount: Decimal
    subsidy_mode: SubsidyMode | None
    reimbursement_due: Decimal  # paid back after payment (REIMBURSE)
    considered: list[tuple[str, Decimal]] = field(default_factory=list)  # best first


def amount_due(policy: YearPolicy, listed_codes: set[str], birth_date: date | None) -> AmountDue:
    """What a person owes this year, and which subsidy applies.

    - no subsidy: UNPAID, the standard is due;
    - DEDUCT: the subsidy is taken off the amount due;
    - AUTO_ENROLL: like DEDUCT (a partial AUTO_ENROLL amount is deducted, the rest
      collected); with a full subsidy nothing is due;
    - REIMBURSE: the standard is due; the subsidy is owed back after payment.

    Whenever a subsidy leaves nothing to collect (AUTO_ENROLL full, or DEDUCT full as in
    枣庄 70+), the status is SUBSIDIZED: the person is enrolled by the subsidy, nobody
    chases them, and they count as enrolled in quota progress. Otherwise UNPAID.
    """
    standard = money(policy.standard)
    ranked = rank_candidates(policy, applicable_categories(policy, listed_codes, birth_date))
    considered = [(c.code, category_amount(c, standard)) for c in ranked]
    if not ranked:
        return AmountDue(EnrollmentStatus.UNPAID, standard, None, ZERO, None, ZERO, considered)
    chosen, amount = ranked[0], considered[0][1]
    if chosen.mode is SubsidyMode.REIMBURSE:
        due, reimbursement = standard, amount
    else:
        due, reimbursement = standard - amount, ZERO
    status = EnrollmentStatus.SUBSIDIZED if due == 0 else EnrollmentStatus.UNPAID
    return AmountDue(status, money(due), chosen.code, amount, chosen.mode, reimbursement, considered)
