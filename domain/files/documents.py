"""JSON documents people write by hand (year policies, quota tables): read with pydantic.

Every document model forbids unknown keys, so a typo ("windwoStart") is an error rather
than a silently missing value, and a failure names the key path as people write it
("categories[1].rule"). Money and rates arrive as strings ("350.00"), plain numbers
too; dates as ISO strings.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationError,
)
from pydantic.alias_generators import to_camel


class DocumentError(ValueError):
    """A malformed document; `key` is the path of the offending key ("" for the whole)."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}" if key else message)
        self.key = key
        self.detail = message


class Document(BaseModel):
    """camelCase keys, nothing unknown. Fields use the strict types below: an int is an
    int (not "2023", not true), a string a string; enums take their values' names."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)


def _decimal(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (str, int, float, Decimal)):
        raise ValueError(f"expected a decimal string, got {type(value).__name__}")
    try:
        # str() of a float is its shortest round-trip text: 320.5 stays 320.5.
        result = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"not a number: {value!r}") from None
    if not result.is_finite():
        raise ValueError(f"not a finite number: {value!r}")
    return result


def _iso_date(value: Any) -> date:
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise ValueError(f"expected an ISO date string, got {type(value).__name__}")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"not an ISO date (YYYY-MM-DD): {value!r}") from None


DecimalText = Annotated[Decimal, BeforeValidator(_decimal)]
IsoDate = Annotated[date, BeforeValidator(_iso_date)]
Int = StrictInt
Text = StrictStr
Flag = StrictBool


def key_path(location: tuple[int | str, ...]) -> str:
    """("categories", 1, "rule") → "categories[1].rule"."""
    path = ""
    for part in location:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


_MESSAGES = {
    "missing": "missing",
    "extra_forbidden": "unknown key",
    "int_type": "expected an integer",
    "bool_type": "expected true or false",
    "string_type": "expected a string",
    "list_type": "expected a list",
    "model_type": "expected an object",
    "dict_type": "expected an object",
}


def document_error(error: ValidationError, prefix: str = "") -> DocumentError:
    """The first problem of a validation, as a DocumentError naming its key."""
    first = error.errors(include_url=False)[0]
    location = tuple(part for part in first["loc"] if not (isinstance(part, str) and part.startswith("function-")))
    key = key_path(location)
    if prefix:
        key = f"{prefix}.{key}" if key else prefix
    kind = first["type"]
    if kind == "enum":
        expected = first.get("ctx", {}).get("expected", "")
        message = f"expected one of {expected}, got {first.get('input')!r}"
    elif kind == "value_error":
        message = str(first.get("ctx", {}).get("error", first["msg"]))
    else:
        message = _MESSAGES.get(kind, first["msg"])
        if kind.endswith("_type") and kind not in ("model_type", "dict_type"):
            message += f", got {type(first.get('input')).__name__}"
    return DocumentError(key, message)
