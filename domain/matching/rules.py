"""Duplicate enrolment (重复参保): which county should keep the person — pure rules, no I/O.

A person may be enrolled in the resident scheme of one place only. When two counties
both enrol the same ID number for a benefit year, the national rule says where the
person stays:

1. employee insurance (职工医保) comes first: a person who has it leaves the resident
   scheme in both places;
2. the person's own choice, when recorded, decides;
3. students (在校学生) stay where they study (the county that holds them at a school);
4. otherwise the later registration place (the county that enrolled them last).

`suggest` returns a `Suggestion`, worded by the catalogue (`term.Suggestion.*`) in the
reader's language; None when nothing decides (both enrolled at the same moment).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class DuplicateCaseStatus(StrEnum):
    OPEN = "OPEN"
    KEPT = "KEPT"  # the person stays in this county
    RELEASED = "RELEASED"  # the person leaves this county's scheme for the year


class ReopenRefusal(StrEnum):
    """Why `match_reopen_case` (migration 0019c) did not reopen a case."""

    NOT_FOUND = "NOT_FOUND"
    OPEN = "OPEN"  # nothing to undo
    ELSEWHERE = "ELSEWHERE"  # the other county decided: only it can undo
    SYSTEM = "SYSTEM"  # closed because the enrolment ended here
    SUPERSEDED = "SUPERSEDED"  # a newer open case of the person and the two counties


# `resolved_by` of a case the database closed because the enrolment ended here anyway (a
# refund approved, a list version): no one decided, nothing follows from it.
SYSTEM_RESOLVER = "system"


class Side(StrEnum):
    HERE = "HERE"
    ELSEWHERE = "ELSEWHERE"


@dataclass(frozen=True)
class Facts:
    """What is known of one county's enrolment of the person."""

    since: datetime  # when this county enrolled the person for the year
    at_school: bool = False  # held at a school unit of this county


@dataclass(frozen=True)
class Situation:
    here: Facts
    elsewhere: Facts
    employee_insured: bool = False  # on an employee insurance roster (职工医保)
    chosen: Side | None = None  # the person said where to stay


class Suggestion(StrEnum):
    """What this county should do, and why (worded: `term.Suggestion.<name>`)."""

    RELEASE_EMPLOYEE = "RELEASE_EMPLOYEE"
    KEEP_CHOSEN = "KEEP_CHOSEN"
    RELEASE_CHOSEN = "RELEASE_CHOSEN"
    KEEP_STUDENT = "KEEP_STUDENT"
    RELEASE_STUDENT = "RELEASE_STUDENT"
    KEEP_LATER = "KEEP_LATER"
    RELEASE_LATER = "RELEASE_LATER"


def suggest(situation: Situation) -> Suggestion | None:
    """What this county should do with the person (see the module docstring)."""
    if situation.employee_insured:
        return Suggestion.RELEASE_EMPLOYEE
    if situation.chosen is Side.HERE:
        return Suggestion.KEEP_CHOSEN
    if situation.chosen is Side.ELSEWHERE:
        return Suggestion.RELEASE_CHOSEN
    here, elsewhere = situation.here, situation.elsewhere
    if here.at_school != elsewhere.at_school:
        return Suggestion.KEEP_STUDENT if here.at_school else Suggestion.RELEASE_STUDENT
    if here.since == elsewhere.since:
        return None
    return Suggestion.KEEP_LATER if here.since > elsewhere.since else Suggestion.RELEASE_LATER


def other_side_status(keep: bool) -> DuplicateCaseStatus:
    """One county's decision closes the pair: keeping here releases there, and back."""
    return DuplicateCaseStatus.RELEASED if keep else DuplicateCaseStatus.KEPT


def fingerprint_pads(secret: str) -> tuple[bytes, bytes]:
    """HMAC-SHA256's inner and outer padded keys (RFC 2104) for `secret`: the database
    computes sha256(opad || sha256(ipad || id_number)) = HMAC-SHA256(secret, id_number)
    with its built-in sha256, no extension needed. Kept where only the owner reads."""
    import hashlib

    key = secret.encode()
    if len(key) > 64:
        key = hashlib.sha256(key).digest()
    key = key.ljust(64, b"\0")
    return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)
