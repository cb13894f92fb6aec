"""payments: no per-row key to the enrolment, enrolments never deleted by the server

A 100,000-row channel file paid about a second for `payment → enrollment`: one key
check (an index probe and a row visit) per payment, after the import had already
locked every one of those enrolment rows. What the key guaranteed now holds by itself:

- a payment is written only for an enrolment row its transaction holds locked
  (`record_payment` locks the person-year's row, `importPayments` locks the file's
  rows, and both refuse a person-year without one: NO_ENROLLMENT);
- enrolments are never deleted: the serving role loses DELETE on `enrollment` here
  (no code path deletes one), so no payment can lose its person-year.

`payment_year_id` goes too: a page of a year's payments reads the primary key
backwards (the newest payments are this year's), and every index costs each of the
100,000 rows of a file one more insert.

Revision ID: 0010
Revises: 0009
"""
from alembic import op

from migrations.rls import app_role

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_constraint("payment_enrollment_fkey", "payment", type_="foreignkey")
    op.drop_index("payment_year_id", table_name="payment")
    op.execute(f'REVOKE DELETE ON enrollment FROM "{app_role()}"')


def downgrade() -> None:
    op.execute(f'GRANT DELETE ON enrollment TO "{app_role()}"')
    op.create_index("payment_year_id", "payment", ["tenant_id", "year", "id"])
    op.create_foreign_key(
        "payment_enrollment_fkey", "payment", "enrollment",
        ["tenant_id", "person_id", "year"], ["tenant_id", "person_id", "year"],
    )
