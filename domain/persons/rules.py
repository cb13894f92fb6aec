"""Rules of persons (参保人), no I/O: who may be registered, and what a reader is shown.

Registration: a valid ID number (domain/persons/idnumber.py), a name that is safe to
print (tenants/names.py), a phone that looks like one, in a unit that holds persons.

Showing: a masked ID number (411325********1234) hides the eight digits of the birth
date and nothing else: the region is the county's, and the last four characters are
the sequence and the check character. The birth date alone makes the number whole
again. Readers who see numbers masked (authz `sees_whole_id_numbers`) are therefore
never shown anything that equals or pins down the birth date: no birth date, an age
that only moves on 1 January, no newborn's benefit start (which is the day of birth).
What remains — region, birth year, sequence and check character — leaves about 33
candidate numbers per person (365 days / 11 check characters); looking them up is what
domain/persons/lookups.py caps.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from domain.persons.idnumber import IdNumber, IdNumberError, mask, parse_id_number
from tenants.kinds import LEAF_KINDS, UnitKind
from tenants.names import name_problem
from tenants.problems import ErrorCode, Problem


class Sex(StrEnum):
    """From the ID number: an odd 17th digit is a man."""

    M = "M"
    F = "F"


PERSON_UNIT_KINDS = LEAF_KINDS | {UnitKind.SPECIAL}
MAX_NAME_LENGTH = 60
_PHONE = re.compile(r"^\+?[0-9-]{7,20}$")


@dataclass(frozen=True)
class NewPerson:
    id_number: str
    name: str
    unit_id: int
    phone: str | None = None


def check_new_person(person: NewPerson) -> tuple[list[Problem], IdNumber | None]:
    """Every problem of a registration, and the parsed ID number when it is valid."""
    problems: list[Problem] = []
    parsed = None
    try:
        parsed = parse_id_number(person.id_number)
    except IdNumberError as error:
        problems.append(error.at("idNumber"))
    problems += check_details(person.name, person.phone)
    return problems, parsed


def check_details(name: str | None, phone: str | None) -> list[Problem]:
    """The registration details' rules (at registration and when they change): a name
    safe to print (no leading = + - @, no control characters), a phone that looks like
    one. None: not given."""
    problems: list[Problem] = []
    if name is not None:
        name = name.strip()
        if not name:
            problems.append(Problem(ErrorCode.EMPTY_NAME, ["name"]))
        elif fault := name_problem(name, MAX_NAME_LENGTH):
            problems.append(Problem(ErrorCode.INVALID_NAME, ["name"], fault.params, fault.variant))
    if phone and not _PHONE.match(phone.strip()):
        problems.append(Problem(ErrorCode.INVALID_PHONE, ["phone"]))
    return problems


def age_at(birth: date, on: date) -> int:
    """Completed years (周岁) on a day; the age goes up on the birthday itself.

    A 29 February birthday counts from 1 March in common years.
    """
    if on < birth:
        raise ValueError(f"{on} is before the birth date {birth}")
    before_birthday = (on.month, on.day) < (birth.month, birth.day)
    return on.year - birth.year - (1 if before_birthday else 0)


def shown_id_number(id_number: str, whole: bool) -> str:
    return id_number if whole else mask(id_number)


def shown_birth_date(birth: date, whole: bool) -> date | None:
    return birth if whole else None


def shown_age(birth: date, on: date, whole: bool) -> int | None:
    """Completed years on `on` (None before birth). Masked readers get the age reached by
    31 December of `on`'s year: an exact age, asked on enough days, names the birthday."""
    if not whole:
        on = date(on.year, 12, 31)
    return age_at(birth, on) if on >= birth else None


def shown_benefit_start(benefit_start: date | None, birth: date, whole: bool) -> date | None:
    """A newborn's benefits start on the day of birth: withheld from masked readers."""
    return benefit_start if whole or benefit_start != birth else None
