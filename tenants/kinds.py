"""Closed lists of names: each one `StrEnum`, the one source of its values.

The database stores them as text with a CHECK constraint derived from the enum
(`enum_check`: no PostgreSQL ENUM types, which Citus and migrations handle badly), and
the GraphQL enum of the same name is made from the same class. A test compares every
such CHECK in the database with its enum.
"""
from __future__ import annotations

from enum import StrEnum

from sqlalchemy import CheckConstraint


class UnitKind(StrEnum):
    STREET = "STREET"  # 街道
    TOWN = "TOWN"  # 镇
    TOWNSHIP = "TOWNSHIP"  # 乡
    MANAGEMENT_AREA = "MANAGEMENT_AREA"  # 管理局
    COMMUNITY = "COMMUNITY"  # 社区 / 居委会
    VILLAGE = "VILLAGE"  # 行政村
    SCHOOL = "SCHOOL"
    SPECIAL = "SPECIAL"  # 区残联, 区教体局 …


TOWNSHIP_LEVEL = frozenset({UnitKind.STREET, UnitKind.TOWN, UnitKind.TOWNSHIP, UnitKind.MANAGEMENT_AREA})
VILLAGE_LEVEL = frozenset({UnitKind.COMMUNITY, UnitKind.VILLAGE})
# Units that hold persons directly and take no children.
LEAF_KINDS = frozenset({UnitKind.COMMUNITY, UnitKind.VILLAGE, UnitKind.SCHOOL})


class DepartmentCode(StrEnum):
    MEDICAL_SECURITY = "MEDICAL_SECURITY"
    TAX = "TAX"
    FINANCE = "FINANCE"
    CIVIL_AFFAIRS = "CIVIL_AFFAIRS"
    RURAL_REVITALIZATION = "RURAL_REVITALIZATION"
    DISABLED_FEDERATION = "DISABLED_FEDERATION"
    VETERANS = "VETERANS"
    HEALTH = "HEALTH"
    EDUCATION = "EDUCATION"
    PUBLIC_SECURITY = "PUBLIC_SECURITY"


DEPARTMENT_NAMES: dict[DepartmentCode, str] = {
    DepartmentCode.MEDICAL_SECURITY: "医保局",
    DepartmentCode.TAX: "税务局",
    DepartmentCode.FINANCE: "财政局",
    DepartmentCode.CIVIL_AFFAIRS: "民政局",
    DepartmentCode.RURAL_REVITALIZATION: "乡村振兴局",
    DepartmentCode.DISABLED_FEDERATION: "残联",
    DepartmentCode.VETERANS: "退役军人事务局",
    DepartmentCode.HEALTH: "卫健委",
    DepartmentCode.EDUCATION: "教体局",
    DepartmentCode.PUBLIC_SECURITY: "公安局",
}


def sql_list(values: type[StrEnum] | tuple[StrEnum, ...] | frozenset[StrEnum]) -> str:
    """`'A', 'B'`: the values as SQL string literals, for `IN (…)` in a statement."""
    return ", ".join(f"'{v.value}'" for v in values)


def check_in(column: str, values: type[StrEnum]) -> str:
    """SQL CHECK expression restricting a text column to an enum's values."""
    return f"{column} IN ({sql_list(values)})"


def enum_check(column: str, values: type[StrEnum], name: str, *, nullable: bool = False, extra: str = "") -> CheckConstraint:
    """A CHECK constraint keeping a text column inside an enum, marked with the enum so
    the migration that writes it and the test that compares it find it."""
    condition = check_in(column, values)
    if nullable:
        condition = f"{column} IS NULL OR {condition}"
    if extra:
        condition = f"{condition} AND {extra}"
    return CheckConstraint(condition, name=name, info={"enum": values, "column": column})
