"""Expected failures as data: a typed code, the input it concerns, and named values.

Code never words a failure: `Problem(ErrorCode.AMOUNT_MISMATCH, ["amount"], {"expected":
..., "amount": ...})`. The words come from the message catalogue (`tenants/messages.py`)
in the reader's language when the problem reaches the edge: a mutation's `userErrors`, a
query error, a row of an upload's error report, the command line.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Generic, TypeVar

R = TypeVar("R")


class ErrorCode(StrEnum):
    """Every situation a caller is told about, named once across the API. The GraphQL
    enum `ErrorCode` derives from this; its descriptions are the catalogue's English
    messages."""

    # access and accounts
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    TOO_MANY_LOGINS = "TOO_MANY_LOGINS"
    LOOKUP_LIMIT = "LOOKUP_LIMIT"
    INVALID_USERNAME = "INVALID_USERNAME"
    USERNAME_TAKEN = "USERNAME_TAKEN"
    WEAK_PASSWORD = "WEAK_PASSWORD"
    INVALID_ROLE = "INVALID_ROLE"
    SCOPE_REQUIRED = "SCOPE_REQUIRED"
    INVALID_SCOPE = "INVALID_SCOPE"
    DEPARTMENT_REQUIRED = "DEPARTMENT_REQUIRED"
    INVALID_DEPARTMENT = "INVALID_DEPARTMENT"
    OUT_OF_SCOPE = "OUT_OF_SCOPE"
    # the request itself
    QUERY_TOO_LARGE = "QUERY_TOO_LARGE"
    UNKNOWN_DOCUMENT = "UNKNOWN_DOCUMENT"
    UNTRUSTED_DOCUMENT = "UNTRUSTED_DOCUMENT"
    QUERY_TOO_DEEP = "QUERY_TOO_DEEP"
    QUERY_TOO_COSTLY = "QUERY_TOO_COSTLY"
    TOO_MANY_ALIASES = "TOO_MANY_ALIASES"
    FRAGMENT_CYCLE = "FRAGMENT_CYCLE"
    BODY_TOO_LARGE = "BODY_TOO_LARGE"
    INVALID_REQUEST = "INVALID_REQUEST"
    TIMED_OUT = "TIMED_OUT"
    REQUEST_TIMED_OUT = "REQUEST_TIMED_OUT"
    INTERNAL = "INTERNAL"
    INVALID_TEXT = "INVALID_TEXT"
    TEXT_TOO_LONG = "TEXT_TOO_LONG"
    INVALID_DECIMAL = "INVALID_DECIMAL"
    INVALID_DATE = "INVALID_DATE"
    INVALID_YEAR = "INVALID_YEAR"
    INVALID_ID = "INVALID_ID"
    INVALID_CURSOR = "INVALID_CURSOR"
    INVALID_PAGE_SIZE = "INVALID_PAGE_SIZE"
    NOT_FOUND = "NOT_FOUND"
    YEAR_REQUIRED = "YEAR_REQUIRED"
    TOO_MANY = "TOO_MANY"
    TOO_MANY_ROWS = "TOO_MANY_ROWS"
    TOO_BUSY = "TOO_BUSY"
    # tenants, units, departments
    TENANT_EXISTS = "TENANT_EXISTS"
    INVALID_CODE = "INVALID_CODE"
    DUPLICATE_CODE = "DUPLICATE_CODE"
    EMPTY = "EMPTY"
    EMPTY_NAME = "EMPTY_NAME"
    INVALID_NAME = "INVALID_NAME"
    INVALID_PARENT = "INVALID_PARENT"
    INVALID_UNIT = "INVALID_UNIT"
    DUPLICATE_DEPARTMENT = "DUPLICATE_DEPARTMENT"
    UNKNOWN_DEPARTMENT = "UNKNOWN_DEPARTMENT"
    # ID numbers and persons
    MISSING_ID = "MISSING_ID"
    INVALID_ID_FORMAT = "INVALID_ID_FORMAT"
    INVALID_ID_DATE = "INVALID_ID_DATE"
    INVALID_ID_CHECKSUM = "INVALID_ID_CHECKSUM"
    INVALID_PHONE = "INVALID_PHONE"
    PERSON_EXISTS = "PERSON_EXISTS"
    PERSON_NOT_FOUND = "PERSON_NOT_FOUND"
    NAME_MISMATCH = "NAME_MISMATCH"
    # year policy
    NO_POLICY = "NO_POLICY"
    INVALID_WINDOW = "INVALID_WINDOW"
    INVALID_STANDARD = "INVALID_STANDARD"
    INVALID_FISCAL_SUBSIDY = "INVALID_FISCAL_SUBSIDY"
    MISSING_FISCAL_SUBSIDY = "MISSING_FISCAL_SUBSIDY"
    INVALID_REMIT_RULE = "INVALID_REMIT_RULE"
    INVALID_GRACE_MONTHS = "INVALID_GRACE_MONTHS"
    INVALID_LATE_RULE = "INVALID_LATE_RULE"
    INVALID_CALL_IN = "INVALID_CALL_IN"
    INVALID_CHANNEL_RULE = "INVALID_CHANNEL_RULE"
    INVALID_NEWBORN_DAYS = "INVALID_NEWBORN_DAYS"
    INVALID_NEWBORN_PERIOD = "INVALID_NEWBORN_PERIOD"
    INVALID_CATEGORY_CODE = "INVALID_CATEGORY_CODE"
    INVALID_CATEGORY_NAME = "INVALID_CATEGORY_NAME"
    DUPLICATE_CATEGORY_CODE = "DUPLICATE_CATEGORY_CODE"
    INVALID_AGE_RANGE = "INVALID_AGE_RANGE"
    INVALID_SUBSIDY_VALUE = "INVALID_SUBSIDY_VALUE"
    INVALID_FUNDER_SHARES = "INVALID_FUNDER_SHARES"
    CATEGORY_IN_USE = "CATEGORY_IN_USE"
    EXEMPTIONS_IN_FORCE = "EXEMPTIONS_IN_FORCE"
    # files
    FILE_TOO_LARGE = "FILE_TOO_LARGE"
    UNREADABLE_FILE = "UNREADABLE_FILE"
    EMPTY_FILE = "EMPTY_FILE"
    NO_ID_COLUMN = "NO_ID_COLUMN"
    NO_AMOUNT_COLUMN = "NO_AMOUNT_COLUMN"
    MISSING_COLUMNS = "MISSING_COLUMNS"
    EMPTY_ROW = "EMPTY_ROW"
    DUPLICATE_IN_FILE = "DUPLICATE_IN_FILE"
    CONFLICT_IN_FILE = "CONFLICT_IN_FILE"
    SAME_AS_BAD_ROW = "SAME_AS_BAD_ROW"
    ROW_ERRORS = "ROW_ERRORS"
    NO_ROWS_ACCEPTED = "NO_ROWS_ACCEPTED"
    INVALID_STATUS = "INVALID_STATUS"
    # subsidy lists
    LIST_CLOSED = "LIST_CLOSED"
    RECOGNIZED_AFTER_CUTOFF = "RECOGNIZED_AFTER_CUTOFF"
    REMOVALS_NOT_CONFIRMED = "REMOVALS_NOT_CONFIRMED"
    # enrolment and newborns
    NO_ENROLLMENT = "NO_ENROLLMENT"
    EXEMPTION_NOT_GRANTED = "EXEMPTION_NOT_GRANTED"
    ALREADY_EXEMPT = "ALREADY_EXEMPT"
    NOT_EXEMPT = "NOT_EXEMPT"
    PAYMENT_ON_RECORD = "PAYMENT_ON_RECORD"
    PARENT_REQUIRED = "PARENT_REQUIRED"
    PARENT_NOT_ENROLLED = "PARENT_NOT_ENROLLED"
    PROOF_REQUIRED = "PROOF_REQUIRED"
    INVALID_PROOF = "INVALID_PROOF"
    REASON_REQUIRED = "REASON_REQUIRED"
    NEWBORN_EXEMPT = "NEWBORN_EXEMPT"
    # payments
    INVALID_AMOUNT = "INVALID_AMOUNT"
    MISSING_AMOUNT = "MISSING_AMOUNT"
    AMOUNT_MISMATCH = "AMOUNT_MISMATCH"
    NOTHING_DUE = "NOTHING_DUE"
    INVALID_BACK_YEARS = "INVALID_BACK_YEARS"
    INVALID_PAID_AT = "INVALID_PAID_AT"
    MISSING_PAID_AT = "MISSING_PAID_AT"
    PAID_AT_IN_FUTURE = "PAID_AT_IN_FUTURE"
    WINDOW_NOT_OPEN = "WINDOW_NOT_OPEN"
    WINDOW_CLOSED = "WINDOW_CLOSED"
    EXTENSION_PROOF_REQUIRED = "EXTENSION_PROOF_REQUIRED"
    CHANNEL_CLOSED = "CHANNEL_CLOSED"
    MISSING_CHANNEL = "MISSING_CHANNEL"
    UNKNOWN_CHANNEL = "UNKNOWN_CHANNEL"
    CASH_NOT_IN_FILES = "CASH_NOT_IN_FILES"
    INVALID_REFERENCE = "INVALID_REFERENCE"
    RECEIPT_REQUIRED = "RECEIPT_REQUIRED"
    RECEIPT_NO_USED = "RECEIPT_NO_USED"
    INVALID_RECEIPT_NO = "INVALID_RECEIPT_NO"
    MISSING_EXTERNAL_ID = "MISSING_EXTERNAL_ID"
    INVALID_EXTERNAL_ID = "INVALID_EXTERNAL_ID"
    EXTERNAL_ID_CONFLICT = "EXTERNAL_ID_CONFLICT"
    EXTERNAL_ID_REUSED_IN_FILE = "EXTERNAL_ID_REUSED_IN_FILE"
    CONCURRENT_PAYMENT = "CONCURRENT_PAYMENT"
    # refunds
    ALREADY_REFUNDED = "ALREADY_REFUNDED"
    REFUND_EXISTS = "REFUND_EXISTS"
    ALREADY_DECIDED = "ALREADY_DECIDED"
    NOT_APPROVED = "NOT_APPROVED"
    REFUND_EXCEEDS_PAYMENT = "REFUND_EXCEEDS_PAYMENT"
    NOTHING_TO_REFUND = "NOTHING_TO_REFUND"
    SUBSIDY_CHANGED = "SUBSIDY_CHANGED"
    NOT_A_DUPLICATE = "NOT_A_DUPLICATE"
    USE_DUPLICATE_PAYMENT = "USE_DUPLICATE_PAYMENT"
    EVENT_DATE_REQUIRED = "EVENT_DATE_REQUIRED"
    EVENT_IN_FUTURE = "EVENT_IN_FUTURE"
    EVENT_AFTER_WINDOW = "EVENT_AFTER_WINDOW"
    CLAIM_DEADLINE_PASSED = "CLAIM_DEADLINE_PASSED"
    CASH_NOT_REMITTED = "CASH_NOT_REMITTED"
    NOT_YOUR_CASH = "NOT_YOUR_CASH"
    # cash, remittances, reimbursements
    COLLECTOR_REQUIRED = "COLLECTOR_REQUIRED"
    NOTHING_TO_REMIT = "NOTHING_TO_REMIT"
    ALREADY_CONFIRMED = "ALREADY_CONFIRMED"
    CONFIRMATION_REQUIRED = "CONFIRMATION_REQUIRED"
    INVALID_PERIOD = "INVALID_PERIOD"
    INVALID_PERSONS = "INVALID_PERSONS"
    NOT_OWED = "NOT_OWED"
    # quotas and assessment
    INVALID_TARGET = "INVALID_TARGET"
    DUPLICATE_UNIT = "DUPLICATE_UNIT"
    INVALID_ASSESSMENT = "INVALID_ASSESSMENT"
    NO_ASSESSMENT_RULES = "NO_ASSESSMENT_RULES"
    NO_SNAPSHOT = "NO_SNAPSHOT"
    # day two: accounts (deactivateUser, reactivateUser, resetPassword, changePassword)
    MUST_CHANGE_PASSWORD = "MUST_CHANGE_PASSWORD"
    OWN_ACCOUNT = "OWN_ACCOUNT"
    # day two: persons (updatePerson, correctIdNumber, transferPerson, life events)
    NOTHING_TO_CHANGE = "NOTHING_TO_CHANGE"
    ID_NUMBER_UNCHANGED = "ID_NUMBER_UNCHANGED"
    ID_NUMBER_IN_USE = "ID_NUMBER_IN_USE"
    SAME_UNIT = "SAME_UNIT"
    EVENT_BEFORE_BIRTH = "EVENT_BEFORE_BIRTH"
    EVENT_EXISTS = "EVENT_EXISTS"
    EVENT_WITHDRAWN = "EVENT_WITHDRAWN"
    # data matching: rosters from other departments (uploadRoster)
    MISSING_DATE = "MISSING_DATE"
    # day two: units (updateUnit, mergeUnits, retireUnit; retired units refused as targets)
    UNIT_RETIRED = "UNIT_RETIRED"
    MERGE_SAME_UNIT = "MERGE_SAME_UNIT"
    MERGE_LEVEL_MISMATCH = "MERGE_LEVEL_MISMATCH"
    UNIT_NOT_EMPTY = "UNIT_NOT_EMPTY"
    UNIT_BUSY = "UNIT_BUSY"
    # data matching: duplicate enrolment across counties (重复参保)
    ENROLLED_ELSEWHERE = "ENROLLED_ELSEWHERE"
    CASE_CLOSED = "CASE_CLOSED"
    CASE_NOT_REOPENABLE = "CASE_NOT_REOPENABLE"  # variants: OPEN, ELSEWHERE, SYSTEM, SUPERSEDED
    RELEASE_REFUND_STANDS = "RELEASE_REFUND_STANDS"


Params = Mapping[str, Any]


@dataclass(frozen=True)
class Problem:
    """One failure: `code` says what, `field` which input (a path), `params` the values
    its message names. `variant` picks a more precise wording of the same situation (the
    catalogue entry `CODE.variant`); the code the caller sees stays `code`."""

    code: ErrorCode
    field: list[str] = dataclasses.field(default_factory=list)
    params: Params = dataclasses.field(default_factory=dict)
    variant: str | None = None

    @property
    def message_id(self) -> str:
        return f"{self.code}.{self.variant}" if self.variant else str(self.code)

    def at(self, *prefix: str) -> Problem:
        """The same problem, its field placed under `prefix` (an input nested in another)."""
        return Problem(self.code, [*prefix, *self.field], self.params, self.variant)


class Rejected(Exception):
    """Raised inside a savepoint to undo every write of a mutation and report why."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(p.message_id for p in problems))
        self.problems = problems


class RejectedWithReport(Rejected, Generic[R]):
    """A refusal that still answers: every write is undone, but `report` (what the body
    found, e.g. an upload's counts and row errors) goes back with the userErrors, so the
    caller can fix the input without a second, dry, run."""

    def __init__(self, problems: list[Problem], report: R) -> None:
        super().__init__(problems)
        self.report = report
