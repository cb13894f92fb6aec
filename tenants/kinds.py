"""Closed vocabularies stored as text with CHECK constraints (no PostgreSQL ENUM types)."""
from __future__ import annotations

from enum import Enum


class UnitKind(str, Enum):
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


class DepartmentCode(str, Enum):
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


def check_in(column: str, values: type[Enum]) -> str:
    """SQL CHECK expression restricting a text column to an enum's values."""
    quoted = ", ".join(f"'{v.value}'" for v in values)
    return f"{column} IN ({quoted})"
