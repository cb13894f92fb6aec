"""payment indexes: uniqueness of receipts and channel numbers only where present; no
per-row key check for the import a row came from

Revision ID: 0008
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_constraint("payment_tenant_id_import_id_fkey", "payment", type_="foreignkey")
    op.drop_constraint("payment_receipt_unique", "payment", type_="unique")
    op.drop_constraint("payment_external_unique", "payment", type_="unique")
    op.create_index(
        "payment_receipt_unique", "payment", ["tenant_id", "receipt_no"], unique=True,
        postgresql_where=sa.text("receipt_no IS NOT NULL"),
    )
    op.create_index(
        "payment_external_unique", "payment", ["tenant_id", "channel", "external_id"], unique=True,
        postgresql_where=sa.text("external_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("payment_external_unique", table_name="payment")
    op.drop_index("payment_receipt_unique", table_name="payment")
    op.create_unique_constraint("payment_external_unique", "payment", ["tenant_id", "channel", "external_id"])
    op.create_unique_constraint("payment_receipt_unique", "payment", ["tenant_id", "receipt_no"])
    op.create_foreign_key(
        "payment_tenant_id_import_id_fkey", "payment", "payment_import", ["tenant_id", "import_id"], ["tenant_id", "id"]
    )
