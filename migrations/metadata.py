"""All tables, imported in one place for Alembic."""
from sqlmodel import SQLModel

import authz.models  # noqa: F401
import domain.cash.tables  # noqa: F401
import domain.enrollment.tables  # noqa: F401  # noqa: F401
import domain.money  # noqa: F401
import domain.payments.tables  # noqa: F401
import domain.persons.tables  # noqa: F401
import domain.policy.tables  # noqa: F401
import domain.progress.tables  # noqa: F401
import domain.refunds.tables  # noqa: F401
import domain.subsidy_lists.tables  # noqa: F401
import tenants.audit  # noqa: F401
import tenants.models  # noqa: F401

metadata = SQLModel.metadata
