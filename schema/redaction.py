"""A last net for readers who see ID numbers masked: a whole ID number left in any string
of a response — a refund note or a file name someone typed it into — is masked on the
way out. The typed fields mask what they know (domain/persons/rules.py); free text cannot
know what people write into it."""
from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from strawberry.extensions import SchemaExtension

from domain.persons.idnumber import IdNumberError, mask, parse_id_number

# An 18-character number, or an old 15-digit one, standing alone (not inside a longer
# run of letters and digits such as a channel's transaction number).
_CANDIDATE = re.compile(r"(?<![0-9A-Za-z])(?:[1-9][0-9]{16}[0-9Xx]|[1-9][0-9]{14})(?![0-9A-Za-z])")


def _masked(match: re.Match[str]) -> str:
    try:
        return mask(parse_id_number(match.group(0)).value)
    except IdNumberError:
        return match.group(0)  # not a valid number (check character, date): leave it


def mask_whole_numbers(value: Any) -> Any:
    """The same JSON-shaped value with every valid ID number in its strings masked."""
    if isinstance(value, str):
        return _CANDIDATE.sub(_masked, value)
    if isinstance(value, dict):
        return {key: mask_whole_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [mask_whole_numbers(item) for item in value]
    return value


class MaskWholeIdNumbers(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        yield
        principal = self.execution_context.context.principal
        result = self.execution_context.result
        if principal is None or principal.sees_whole_id_numbers or result is None or not result.data:
            return
        result.data = mask_whole_numbers(result.data)
