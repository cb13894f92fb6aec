"""The ID-number table of DOMAIN.md "ID numbers, in practice"."""
from datetime import date

import pytest

from domain.persons.idnumber import (
    IdNumberError,
    check_character,
    make_id_number,
    mask,
    normalize,
    parse_id_number,
)


def _with_x_check() -> str:
    for seq in range(1000):
        number = make_id_number("411325", date(1975, 3, 9), seq)
        if number.endswith("X"):
            return number
    raise AssertionError("no X check character found")


X_NUMBER = _with_x_check()


@pytest.mark.parametrize(
    ("raw", "value", "birth", "sex"),
    [
        ("360426199101010071", "360426199101010071", date(1991, 1, 1), "M"),
        (" 360426 19910101 0071 ", "360426199101010071", date(1991, 1, 1), "M"),
        (X_NUMBER.lower(), X_NUMBER, date(1975, 3, 9), None),
        # obsolete region code (a county merged away) is still a valid number
        (make_id_number("412901", date(1950, 6, 1), 22), make_id_number("412901", date(1950, 6, 1), 22), date(1950, 6, 1), "F"),
        # foreigners' permanent-residence cards since 2023: 18 characters starting with 9
        (make_id_number("911156", date(1988, 2, 29), 5), make_id_number("911156", date(1988, 2, 29), 5), date(1988, 2, 29), "M"),
        # 15-character old card → 18 characters
        ("411325550612031", "41132519550612031" + check_character("41132519550612031"), date(1955, 6, 12), "M"),
    ],
)
def test_valid_numbers(raw, value, birth, sex):
    parsed = parse_id_number(raw)
    assert parsed.value == value
    assert parsed.birth_date == birth
    if sex:
        assert parsed.sex == sex


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("360426199101010072", "INVALID_ID_CHECKSUM"),
        ("41132519990231" + "0012", "INVALID_ID_DATE"),  # 1999-02-31 does not exist
        (make_id_number("411325", date(2099, 1, 1), 1), "INVALID_ID_DATE"),  # born in the future
        ("36042619910101007", "INVALID_ID_FORMAT"),  # 17 characters
        ("3604261991010100711", "INVALID_ID_FORMAT"),  # 19 characters
        ("36042619910101007Y", "INVALID_ID_FORMAT"),
        ("", "INVALID_ID_FORMAT"),
        ("411325991332031", "INVALID_ID_DATE"),  # 15 characters, month 13
    ],
)
def test_invalid_numbers(raw, code):
    with pytest.raises(IdNumberError) as error:
        parse_id_number(raw)
    assert error.value.code == code


def test_date_check_comes_before_checksum():
    # 19990231 with a "correct" check character for its digits is still refused for the date
    first17 = "41132519990231001"
    with pytest.raises(IdNumberError) as error:
        parse_id_number(first17 + check_character(first17))
    assert error.value.code == "INVALID_ID_DATE"


def test_mask_and_normalize():
    assert mask("411325199001011234") == "411325********1234"
    assert normalize("36042619910101007x") == "36042619910101007X"
