"""refund.payback: how a completed refund went back to the payer

八公山 (九、退费办理): cash not yet in the treasury goes back from the community's hands
("社区…将收取的他人现金交给该申请人"), remitted money through the tax bureau. A completed
refund now records which: CHANNEL (the payment's own channel, by the tax bureau) or
CASH_BOOK (handed back by the collector from undeclared cash, which leaves their cash
book). Refunds completed before this revision were all completed by the tax bureau
on the channel: they become CHANNEL. The serving role may set the column (a column
grant, like the other status columns of a refund).

Revision ID: 0013a
Revises: 0012
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.schema import AddConstraint

from domain.refunds.tables import Refund
from migrations.rls import app_role

revision = "0013a"
down_revision = "0013b"
branch_labels = None
depends_on = None

_CONSTRAINTS = ("refund_payback_check", "refund_payback_completed_check")


def upgrade() -> None:
    op.add_column("refund", sa.Column("payback", sa.Text(), nullable=True))
    # The owner is under FORCE RLS too: fill in each tenant's completed refunds with it bound.
    op.execute(
        """
        DO $$
        DECLARE t bigint;
        BEGIN
          FOR t IN SELECT id FROM tenant LOOP
            PERFORM set_config('app.tenant_id', t::text, true);
            UPDATE refund SET payback = 'CHANNEL' WHERE tenant_id = t AND status = 'COMPLETED';
          END LOOP;
          PERFORM set_config('app.tenant_id', '', true);
        END $$
        """
    )
    for constraint in Refund.__table__.constraints:
        if constraint.name in _CONSTRAINTS:
            op.execute(AddConstraint(constraint))
    op.execute(f'GRANT UPDATE (payback) ON refund TO "{app_role()}"')


def downgrade() -> None:
    op.execute(f'REVOKE UPDATE (payback) ON refund FROM "{app_role()}"')
    for name in _CONSTRAINTS:
        op.drop_constraint(name, "refund", type_="check")
    op.drop_column("refund", "payback")
