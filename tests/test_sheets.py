"""Reading uploaded lists: .xlsx and CSV (UTF-8, UTF-8 with BOM, GB18030) into text rows."""
import io
import os
from datetime import date, datetime

import openpyxl
import pytest

from domain.files.sheets import (
    PAYMENT_FILE_ALIASES,
    SUBSIDY_LIST_ALIASES,
    SheetError,
    map_headers,
    read_table,
    require,
)
from domain.persons.idnumber import make_id_number

ID_A = make_id_number("411325", date(1950, 6, 1), 21)
ID_B = make_id_number("411325", date(1988, 2, 29), 4)
HEADERS = ["姓名", "证件号码", "村（社区）", "认定日期", "备注"]


def xlsx(*rows: list, leading_empty: int = 0) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for _ in range(leading_empty):
        sheet.append([])
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def rows_of(table) -> list:
    return list(table.rows)


# --- .xlsx --------------------------------------------------------------------------


def test_xlsx_reads_text_with_excel_row_numbers():
    data = xlsx(
        HEADERS,
        ["张三", ID_A, "马山口镇石门村", date(2022, 11, 5), None],
        [None, None, None, None, None],  # empty row: skipped, numbering kept
        ["  李四 ", ID_B, "城关镇", "2022-11-06", "新增"],
    )
    table = read_table(data, "低保名单.xlsx")
    assert table.headers == HEADERS
    assert table.header_row == 1
    assert rows_of(table) == [
        (2, ["张三", ID_A, "马山口镇石门村", "2022-11-05", ""]),
        (4, ["李四", ID_B, "城关镇", "2022-11-06", "新增"]),
    ]


def test_xlsx_id_number_typed_as_a_number_comes_back_as_digits():
    # A 15-digit old-card number fits a double exactly: it comes back whole.
    old_card = "411325550612031"
    data = xlsx(["证件号码", "金额", "缴费时间"], [int(old_card), 350, datetime(2022, 11, 5, 9, 30)])
    assert rows_of(read_table(data, "x.xlsx")) == [(2, [old_card, "350", "2022-11-05T09:30:00"])]


def test_xlsx_18_digit_number_comes_back_as_18_digits():
    # 18 digits do not fit a double (openpyxl, like Excel, stores 4.113251955061203e+17):
    # the cell still reads as 18 plain digits, never "4.11E+17" or "….0".
    digits = make_id_number("411325", date(1955, 6, 12), 31)
    assert digits.isdigit()
    cells = rows_of(read_table(xlsx(["证件号码"], [int(digits)]), "x.xlsx"))[0][1]
    assert cells == [str(int(float(digits)))]
    assert len(cells[0]) == 18 and cells[0].isdigit()


def test_xlsx_number_as_excel_stores_it_is_not_scientific():
    # Excel keeps 15 significant digits and writes 4.11325195506120E+17: the digits come
    # back whole (and the ID check later rejects the mangled number with a clear error).
    data = xlsx(["证件号码", "金额"], [4.1132519550612e17, 320.5], [None, 1e-05])
    assert rows_of(read_table(data, "x.xlsx")) == [
        (2, ["411325195506120000", "320.5"]),
        (3, ["", "0.00001"]),
    ]


def test_xlsx_skips_leading_empty_rows_before_the_header():
    data = xlsx(HEADERS, ["张三", ID_A, "村", "", ""], leading_empty=2)
    table = read_table(data, "X.XLSX")
    assert table.headers == HEADERS and table.header_row == 3
    assert rows_of(table) == [(4, ["张三", ID_A, "村", "", ""])]


def test_xlsx_short_rows_are_padded_to_the_header():
    table = read_table(xlsx(HEADERS, ["张三", ID_A]), "x.xlsx")
    assert rows_of(table) == [(2, ["张三", ID_A, "", "", ""])]


def test_xlsx_formula_gives_nothing_without_a_cached_value():
    # openpyxl writes no cached result; Excel would. Either way no "=A1" text leaks out.
    table = read_table(xlsx(["金额", "合计"], [1, "=A2*2"]), "x.xlsx")
    assert rows_of(table) == [(2, ["1", ""])]


def test_xlsx_rows_are_lazy():
    data = xlsx(["证件号码"], *[[str(n)] for n in range(1000)])
    table = read_table(data, "big.xlsx")
    assert not isinstance(table.rows, list)
    assert next(table.rows) == (2, ["0"])
    assert sum(1 for _ in table.rows) == 999


def test_xlsx_empty_sheet_has_no_header():
    with pytest.raises(SheetError) as caught:
        read_table(xlsx(), "empty.xlsx")
    assert caught.value.reason == "NO_HEADER"


@pytest.mark.parametrize(
    "data",
    [
        os.urandom(2048),
        b"PK\x03\x04" + os.urandom(2048),  # looks like a zip, is not one
        b"\xd0\xcf\x11\xe0" + os.urandom(512),  # an old .xls renamed
        "姓名,证件号码\n".encode(),  # CSV text named .xlsx
    ],
    ids=["random", "fake-zip", "old-xls", "csv-text"],
)
def test_broken_xlsx_is_one_clear_error(data):
    with pytest.raises(SheetError) as caught:
        read_table(data, "名单.xlsx")
    assert caught.value.reason in ("NOT_XLSX", "XLS_AS_XLSX")


# --- .csv ---------------------------------------------------------------------------


CSV_TEXT = f"姓名,证件号码,村（社区）,认定日期,备注\r\n张三,{ID_A},石门村,2022-11-05,\r\n\r\n李四 , {ID_B} ,城关镇,,\"有逗号,的备注\"\r\n"
EXPECTED_ROWS = [
    (2, ["张三", ID_A, "石门村", "2022-11-05", ""]),
    (4, ["李四", ID_B, "城关镇", "", "有逗号,的备注"]),
]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "gbk"])
def test_csv_encodings(encoding):
    table = read_table(CSV_TEXT.encode(encoding), "名单.csv")
    assert table.headers == HEADERS
    assert rows_of(table) == EXPECTED_ROWS


def test_csv_gb18030_characters_outside_gbk():
    text = "姓名,证件号码\n𠀀明,1\n"  # a CJK Extension B name: GB18030 only
    assert rows_of(read_table(text.encode("gb18030"), "x.csv")) == [(2, ["𠀀明", "1"])]


def test_csv_skips_leading_empty_rows_and_counts_records():
    text = '\n,,\n姓名,备注\n张三,"两行\n的备注"\n李四,x\n'
    table = read_table(text.encode(), "x.csv")
    assert table.header_row == 3
    assert rows_of(table) == [(4, ["张三", "两行\n的备注"]), (5, ["李四", "x"])]


def test_csv_excel_text_formula_is_unwrapped():
    text = f'证件号码,金额\n="{ID_A}",350\n'
    assert rows_of(read_table(text.encode(), "x.csv")) == [(2, [ID_A, "350"])]


@pytest.mark.parametrize(
    ("data", "name", "reason", "params"),
    [
        (b"", "x.csv", "NO_CONTENT", {}),
        (b"", "x.xlsx", "NO_CONTENT", {}),
        (b"\n\n ,  ,\n", "x.csv", "NO_HEADER", {}),
        ("\ufeff".encode(), "x.csv", "NO_HEADER", {}),
        (b"\xff\xfe" + "姓名".encode("utf-16-le"), "x.csv", "NOT_CSV", {}),
        (b"\x81\x30\xff\xff", "x.csv", "ENCODING", {}),
        (b"name\n", "list.xls", "OLD_EXCEL", {"suffix": ".xls"}),
        (b"name\n", "list.txt", "FILE_TYPE", {"suffix": ".txt"}),
        (b"name\n", "list", "FILE_TYPE", {"suffix": "-"}),
    ],
)
def test_unreadable_files(data, name, reason, params):
    with pytest.raises(SheetError) as caught:
        read_table(data, name)
    assert (caught.value.reason, caught.value.params) == (reason, params)


def test_xlsx_named_csv_is_refused_with_a_hint():
    with pytest.raises(SheetError) as caught:
        read_table(xlsx(["姓名"]), "x.csv")
    assert caught.value.reason == "XLSX_AS_CSV"


def test_sheet_error_is_a_value_error():
    with pytest.raises(ValueError):
        read_table(b"", "x.csv")


# --- headers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (HEADERS, {"name": 0, "id_number": 1, "unit": 2, "recognized_on": 3, "note": 4}),
        (["Name", " ID Number ", "Village", "Recognised On", "REMARK"], {"name": 0, "id_number": 1, "unit": 2, "recognized_on": 3, "note": 4}),
        (["序号", "*姓名", "身份证号码", "村(社区)"], {"name": 1, "id_number": 2, "unit": 3}),
        (["姓 名", "公民身份号码", "社区"], {"name": 0, "id_number": 1, "unit": 2}),
        # full-width letters and spaces (NFKC)
        (["ＩＤ\u3000Ｎｕｍｂｅｒ"], {"id_number": 0}),
        # the first matching column wins
        (["身份证号", "证件号码"], {"id_number": 0}),
        # exact matches only: a longer header is not guessed at
        (["身份证号码（18位）"], {}),
    ],
)
def test_map_subsidy_list_headers(headers, expected):
    assert map_headers(headers, SUBSIDY_LIST_ALIASES) == expected


def test_map_payment_file_headers():
    headers = ["流水号", "姓名", "证件号码", "缴费金额", "缴费渠道", "缴费时间", "票据号"]
    assert map_headers(headers, PAYMENT_FILE_ALIASES) == {
        "external_id": 0, "name": 1, "id_number": 2, "amount": 3, "channel": 4, "paid_at": 5, "receipt_no": 6,
    }


def test_aliases_do_not_overlap_within_a_file_kind():
    from domain.files.sheets import normalize_header

    for aliases in (SUBSIDY_LIST_ALIASES, PAYMENT_FILE_ALIASES):
        seen: dict[str, str] = {}
        for field, names in aliases.items():
            for name in names:
                key = normalize_header(name)
                assert seen.setdefault(key, field) == field, f"{name!r} names {seen[key]} and {field}"


def test_file_without_id_column_reports_the_missing_field():
    table = read_table("姓名,村\n张三,石门村\n".encode("gb18030"), "名单.csv")
    mapping = map_headers(table.headers, SUBSIDY_LIST_ALIASES)
    assert require(mapping, ["id_number", "name"]) == ["id_number"]
    assert require(mapping, ["name", "unit"]) == []
