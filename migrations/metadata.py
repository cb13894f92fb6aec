"""All tables, imported in one place for Alembic."""
from sqlmodel import SQLModel

import authz.models  # noqa: F401
import domain.ledger_models  # noqa: F401
import domain.models  # noqa: F401
import domain.quota_models  # noqa: F401
import tenants.audit  # noqa: F401
import tenants.models  # noqa: F401

metadata = SQLModel.metadata
