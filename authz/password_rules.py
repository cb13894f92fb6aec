"""What a new password must be: long enough, not absurdly long, not the username, not
a password that attackers try first. Pure rules, no I/O beyond reading the lists once."""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from tenants.problems import ErrorCode, Problem

MIN_PASSWORD_LENGTH = 10
# argon2 hashes whatever it is given; a cap keeps a megabyte "password" from being work.
MAX_PASSWORD_LENGTH = 128

_CHINESE_LIST = Path(__file__).with_name("common_passwords_zh.txt")
# "Password123!" is "password" to an attacker: the trailing digits and symbols go.
_TRAILING_DIGITS_AND_SYMBOLS = re.compile(r"[\W\d_]+$")


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """zxcvbn's 30,000 most common passwords and our list of Chinese ones, lower case."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    chinese = (line.strip() for line in _CHINESE_LIST.read_text(encoding="utf-8").splitlines())
    words = {w.casefold() for w in FREQUENCY_LISTS["passwords"]}
    words.update(w.casefold() for w in chinese if w and not w.startswith("#"))
    return frozenset(words)


def is_common(password: str) -> bool:
    folded = password.casefold()
    stem = _TRAILING_DIGITS_AND_SYMBOLS.sub("", folded)
    common = common_passwords()
    return folded in common or (stem != "" and stem in common)


def password_problem(password: str, username: str | None = None) -> Problem | None:
    """Why `password` may not be set (WEAK_PASSWORD, worded by its variant), or None.
    One reason, the first that applies."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return _weak("TOO_SHORT", limit=MIN_PASSWORD_LENGTH)
    if len(password) > MAX_PASSWORD_LENGTH:
        return _weak("TOO_LONG", limit=MAX_PASSWORD_LENGTH)
    if username and username.casefold() in password.casefold():
        return _weak("HAS_USERNAME")
    if is_common(password):
        return _weak("COMMON")
    if password.isdigit() or password.isalpha():
        return _weak("ONE_KIND")
    return None


def _weak(variant: str, **params: object) -> Problem:
    return Problem(ErrorCode.WEAK_PASSWORD, ["password"], params, variant)
