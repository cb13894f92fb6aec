"""The five roles and which departments see ID numbers whole."""
from __future__ import annotations

from enum import StrEnum

from tenants.kinds import DepartmentCode


class Role(StrEnum):
    PLATFORM_OPERATOR = "PLATFORM_OPERATOR"
    COUNTY_ADMIN = "COUNTY_ADMIN"
    DEPARTMENT_STAFF = "DEPARTMENT_STAFF"
    TOWNSHIP_STAFF = "TOWNSHIP_STAFF"
    VILLAGE_COLLECTOR = "VILLAGE_COLLECTOR"

    @property
    def casbin(self) -> str:
        return f"role:{self.value.lower()}"


# DOMAIN.md §8: department staff read persons county-wide, ID numbers masked except these.
UNMASKED_DEPARTMENTS = frozenset({DepartmentCode.MEDICAL_SECURITY, DepartmentCode.TAX})
