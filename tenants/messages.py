"""Messages people read, from one catalogue: zh-CN by default, English on request.

The catalogue is gettext: `tenants/locale/<locale>/LC_MESSAGES/zhengjiao.po`, one entry
per message id — an error code (`AMOUNT_MISMATCH`) or a key (`sheet.unpaid.title`) —
with named parameters in braces ("应缴金额为 {expected} 元，不是 {amount} 元"). Babel
reads and checks the files; tests/test_messages.py proves that every error code has a
zh-CN and an English message naming the same parameters.

Code never writes a sentence: it names the code and hands over the values; the words
are chosen here, in the reader's language, at the edge (userErrors, row errors, query
errors, downloads, the command line).
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any

from babel import negotiate_locale
from babel.messages.pofile import read_po

LOCALES = ("zh_CN", "en")
DEFAULT_LOCALE = "zh_CN"
DOMAIN = "zhengjiao"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
_FIELD = re.compile(r"\{(\w+)(?:[!:][^}]*)?\}")


@cache
def catalogue(locale: str) -> dict[str, str]:
    """Message id → template of one locale, read once from its .po file."""
    path = LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
    with path.open("rb") as handle:
        messages = read_po(handle, locale=locale, domain=DOMAIN)
    return {str(m.id): str(m.string) for m in messages if m.id and m.string}


def parameters(template: str) -> set[str]:
    """The named parameters a template uses."""
    return set(_FIELD.findall(template))


def negotiate(accept_language: str | None, default: str = DEFAULT_LOCALE) -> str:
    """The locale for an `Accept-Language` header ("en-US,en;q=0.9", "zh-CN"): the first
    one asked for that the catalogue has, else `default`."""
    if not accept_language:
        return default
    asked = []
    for part in accept_language.split(","):
        tag, _, quality = part.strip().partition(";q=")
        try:
            weight = float(quality) if quality else 1.0
        except ValueError:
            continue
        if tag and tag != "*" and weight > 0:
            asked.append((weight, tag.replace("-", "_")))
    preferred = [tag for _, tag in sorted(asked, key=lambda item: -item[0])]
    return negotiate_locale(preferred, LOCALES) or default


def _shown(value: Any, locale: str) -> str:
    """A value as a message shows it: words (a `Term`, a member of a closed list) in the
    reader's language, amounts with their cents, lists joined."""
    if isinstance(value, StrEnum):
        return _term(f"term.{type(value).__name__}.{value.value}", locale) or value.value
    if isinstance(value, (list, tuple, set, frozenset)):
        if not value:
            return text("term.none", locale)
        separator = "、" if locale.startswith("zh") else ", "
        return separator.join(_shown(item, locale) for item in value)
    return _raw(value)


def _raw(value: Any) -> str:
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, Decimal):
        return f"{value:.2f}" if value == value.quantize(Decimal("0.01")) else str(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (list, tuple, set, frozenset)):
        return ",".join(_raw(item) for item in value)
    return str(value)


def _term(key: str, locale: str) -> str | None:
    return catalogue(locale).get(key) or catalogue("en").get(key)


class _Values(dict):  # type: ignore[type-arg]
    """Missing parameters show as {name} rather than failing a whole response."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


# Message ids asked for that the catalogue lacks: tests fail on any (tests/conftest.py).
missing: set[str] = set()


def text(message_id: str, locale: str, params: Mapping[str, Any] | None = None) -> str:
    """The message in `locale` (falling back to English, then to the id itself)."""
    template = catalogue(locale).get(message_id) or catalogue("en").get(message_id)
    if template is None:
        missing.add(message_id)
        template = message_id
    values = _Values({name: _shown(value, locale) for name, value in (params or {}).items()})
    return template.format_map(values)


def raw_params(params: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(name, value) pairs as a front end receives them to word its own text: codes
    rather than words, ISO dates, amounts in yuan."""
    return [(name, _raw(value)) for name, value in params.items()]


def message_ids(locale: str) -> Iterable[str]:
    return catalogue(locale).keys()


def error_json(code: str, locale: str, params: Mapping[str, Any] | None = None, variant: str | None = None) -> dict[str, Any]:
    """One entry of a JSON `errors` list, as GraphQL errors are shaped: the message in
    `locale`, the code and the raw params in `extensions`."""
    message_id = f"{code}.{variant}" if variant else code
    extensions: dict[str, Any] = {"code": code}
    if params:
        extensions["params"] = dict(raw_params(params))
    return {"message": text(message_id, locale, params), "extensions": extensions}


def configured_locale(value: str | None) -> str:
    """`ZHENGJIAO_LOCALE` ("zh-CN", "zh_CN", "en") as a catalogue locale."""
    if not value:
        return DEFAULT_LOCALE
    found = negotiate_locale([value.replace("-", "_")], LOCALES)
    if found is None:
        raise ValueError(f"ZHENGJIAO_LOCALE={value!r}: the catalogue has {', '.join(LOCALES)}")
    return found
