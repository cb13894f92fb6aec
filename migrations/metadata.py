"""All tables, imported in one place for Alembic and for the schema tests."""
from sqlmodel import SQLModel

import authz.models  # noqa: F401
import domain.cash.tables  # noqa: F401
import domain.enrollment.tables  # noqa: F401
import domain.matching.tables  # noqa: F401
import domain.payments.tables  # noqa: F401
import domain.persons.tables  # noqa: F401
import domain.policy.tables  # noqa: F401
import domain.progress.tables  # noqa: F401
import domain.refunds.tables  # noqa: F401
import domain.rosters.tables  # noqa: F401
import domain.row_reports.tables  # noqa: F401
import domain.subsidy_lists.tables  # noqa: F401
import tenants.audit  # noqa: F401
import tenants.models  # noqa: F401

metadata = SQLModel.metadata


def enum_checks() -> list:
    """Every CHECK constraint made from an enum (tenants/kinds.py `enum_check`), with its table."""
    return [
        (table.name, constraint)
        for table in metadata.sorted_tables
        for constraint in table.constraints
        if "enum" in getattr(constraint, "info", {})
    ]
