"""What a reader is shown of a person: everything, or no more than the birth year.

A masked ID number (411325********1234) hides the eight digits of the birth date and
nothing else: the region is the county's, and the last four characters are the
sequence and the check character. The birth date alone makes the number whole again.
Readers who see numbers masked (authz `sees_whole_id_numbers`) are therefore never
shown anything that equals or pins down the birth date: no birth date, an age that only
moves on 1 January, no newborn's benefit start (which is the day of birth). What
remains — region, birth year, sequence and check character — leaves about 33 candidate
numbers per person (365 days / 11 check characters); looking them up is what
domain/id_lookups.py caps.
"""
from __future__ import annotations

from datetime import date

from domain.idnumber import mask
from domain.subsidies import age_at


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
