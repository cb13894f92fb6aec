"""call in the bottom N: `year_policy.call_in_bottom`

内乡 ("排名后三名且未完成任务的，由县主要领导约谈乡镇主要负责人"): a year policy may say how
many units at the bottom of a ranking are called in when they are also below their
quota. Null: no such rule (every existing policy).

Revision ID: 0013d
Revises: 0012
"""
import sqlalchemy as sa
from alembic import op

revision = "0013d"
down_revision = "0013a"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("year_policy", sa.Column("call_in_bottom", sa.Integer(), nullable=True))
    op.create_check_constraint("year_policy_call_in_check", "year_policy", "call_in_bottom > 0")


def downgrade() -> None:
    op.drop_constraint("year_policy_call_in_check", "year_policy", type_="check")
    op.drop_column("year_policy", "call_in_bottom")
