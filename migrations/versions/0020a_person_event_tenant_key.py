"""person_event: drop the direct key to `tenant`; the key to the person leads there

A life event carries `tenant_id` in its composite key to `person`, a row of the tenant,
so the single-column key to `tenant` only cost a probe and a check per row: 100,000 of
them when a roster's first version records an event for each person it names (as 0006
did for the other bulk tables).

Revision ID: 0020a
Revises: 0019c
"""
from alembic import op

revision = "0020a"
down_revision = "0019c"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_constraint("person_event_tenant_id_fkey", "person_event", type_="foreignkey")


def downgrade() -> None:
    op.create_foreign_key("person_event_tenant_id_fkey", "person_event", "tenant", ["tenant_id"], ["id"])
