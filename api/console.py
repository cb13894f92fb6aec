"""What the command line prints, from the message catalogue: Chinese by default,
English with `ZHENGJIAO_LOCALE=en` (and wherever a message has no Chinese yet)."""
from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from typing import Any

from tenants.messages import configured_locale, text
from tenants.problems import Problem


class UnknownTenant(LookupError):
    """A command named a county code the platform does not hold."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def locale() -> str:
    return configured_locale(os.environ.get("ZHENGJIAO_LOCALE"))


def words(message_id: str, **params: Any) -> str:
    """One message of the catalogue in the console's language."""
    return text(message_id, locale(), params)


def say(message_id: str, **params: Any) -> None:
    print(words(message_id, **params), flush=True)


def complain(message_id: str, **params: Any) -> None:
    """An error line on stderr: "错误：…"."""
    print(words("cli.error", message=words(message_id, **params)), file=sys.stderr)


def report_problems(problems: Iterable[Problem]) -> None:
    """The problems of a refused change, one per line, each with the field it concerns."""
    for problem in problems:
        message = text(problem.message_id, locale(), problem.params)
        where = ".".join(problem.field)
        line = words("cli.error_at", field=where, message=message) if where else words("cli.error", message=message)
        print(line, file=sys.stderr)
