"""payment keys: one composite key to the enrolment instead of four checks per row

A channel file brings 100,000 payments; each foreign key is one index probe per row.
The person-year's enrolment row already leads to the person, the year policy and the
tenant, and the unit columns are a copy of the person's, so one key does their work.

Revision ID: 0005
Revises: 0004
"""
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_DROPPED = (
    "payment_tenant_id_fkey",
    "payment_tenant_id_person_id_fkey",
    "payment_tenant_id_year_fkey",
    "payment_tenant_id_unit_id_fkey",
)


def upgrade() -> None:
    for name in _DROPPED:
        op.drop_constraint(name, "payment", type_="foreignkey")
    op.create_foreign_key(
        "payment_enrollment_fkey", "payment", "enrollment",
        ["tenant_id", "person_id", "year"], ["tenant_id", "person_id", "year"],
    )


def downgrade() -> None:
    op.drop_constraint("payment_enrollment_fkey", "payment", type_="foreignkey")
    op.create_foreign_key("payment_tenant_id_fkey", "payment", "tenant", ["tenant_id"], ["id"])
    op.create_foreign_key("payment_tenant_id_person_id_fkey", "payment", "person", ["tenant_id", "person_id"], ["tenant_id", "id"])
    op.create_foreign_key("payment_tenant_id_year_fkey", "payment", "year_policy", ["tenant_id", "year"], ["tenant_id", "year"])
    op.create_foreign_key("payment_tenant_id_unit_id_fkey", "payment", "unit", ["tenant_id", "unit_id"], ["tenant_id", "id"])
