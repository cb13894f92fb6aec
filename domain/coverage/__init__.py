"""Gaps in cover (断保, 漏保): registered residents the county should chase although no
enrolment of theirs is UNPAID in a way that says so."""
